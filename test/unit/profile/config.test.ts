/** CaConfig parsing: defaults, normalisation, and each refusal with CONFIG_INVALID naming the field. */
import { describe, expect, it } from 'vitest';
import { AGENT_CA_ARC, LEGACY_AGENT_CA_ARC } from '../../../src/asn1/oids.js';
import { AgentCaError } from '../../../src/errors.js';
import {
  DEFAULT_CONFIG,
  isDnsName,
  issuerUrls,
  migrateStoredConfig,
  parseConfig,
} from '../../../src/profile/config.js';

function refused(raw: Record<string, unknown>): AgentCaError {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(AgentCaError);
    expect((e as AgentCaError).code).toBe('ACA_ERR_CONFIG_INVALID');
    return e as AgentCaError;
  }
  throw new Error(`config accepted: ${JSON.stringify(raw)}`);
}

describe('parseConfig', () => {
  it('defaults to the development config, frozen', () => {
    const c = parseConfig();
    expect(c).toMatchObject({
      organization: DEFAULT_CONFIG.organization,
      baseUrl: 'http://127.0.0.1:8080',
      agentDomains: ['agents.example'],
      keyType: 'p256',
      oidArc: AGENT_CA_ARC,
    });
    expect(c).not.toHaveProperty('country');
    expect(c).not.toHaveProperty('maxAgentValidityDays');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.agentDomains)).toBe(true);
  });

  it('keeps what it is given and strips trailing slashes from baseUrl', () => {
    const c = parseConfig({
      organization: 'Acme',
      country: 'DE',
      baseUrl: 'https://ca.acme.example/pki//',
      agentDomains: ['agents.acme.example', 'bots.acme.example'],
      keyType: 'rsa3072',
      maxAgentValidityDays: 30,
      oidArc: '1.3.6.1.4.1.99999.7',
    });
    expect(c).toMatchObject({
      organization: 'Acme',
      country: 'DE',
      baseUrl: 'https://ca.acme.example/pki',
      keyType: 'rsa3072',
      maxAgentValidityDays: 30,
      oidArc: '1.3.6.1.4.1.99999.7',
    });
    expect(issuerUrls(c.baseUrl, 'root')).toEqual({
      crl: 'https://ca.acme.example/pki/crl/root.crl',
      deltaCrl: 'https://ca.acme.example/pki/crl/root-delta.crl',
      ocsp: 'https://ca.acme.example/pki/ocsp',
      caIssuers: 'https://ca.acme.example/pki/ca/root.cer',
    });
  });

  it('drops unknown keys instead of carrying them into the stored state', () => {
    expect(parseConfig({ surprise: 1 })).not.toHaveProperty('surprise');
  });

  it.each([
    ['organization', { organization: '' }],
    ['organization', { organization: 'O'.repeat(65) }],
    ['country', { country: 'de' }],
    ['country', { country: 'DEU' }],
    ['baseUrl', { baseUrl: 'not a url' }],
    ['baseUrl', { baseUrl: 'ftp://ca.example' }],
    ['agentDomains', { agentDomains: [] }],
    ['agentDomains', { agentDomains: ['Agents.Example'] }],
    ['agentDomains', { agentDomains: ['agents.example', '*.example'] }],
    ['agentDomains', { agentDomains: 'agents.example' }],
    ['keyType', { keyType: 'rsa1024' }],
    ['maxAgentValidityDays', { maxAgentValidityDays: 366 }],
    ['maxAgentValidityDays', { maxAgentValidityDays: 0 }],
    ['maxAgentValidityDays', { maxAgentValidityDays: 1.5 }],
    ['oidArc', { oidArc: 'abc' }],
    ['oidArc', { oidArc: '3.1.2' }],
    ['oidArc', { oidArc: '1.3.06' }],
    ['oidArc', { oidArc: 5 }],
    ['oidArc', { oidArc: '1.3.6.1.4.1.2147483648' }],
    ['oidArc', { oidArc: LEGACY_AGENT_CA_ARC }],
  ])('refuses a bad %s (%j)', (field, raw) => {
    const e = refused(raw);
    expect(e.details).toEqual({ field });
    expect(e.message).toMatch(new RegExp(`^config ${field}: `));
    expect(e.httpStatus).toBe(400);
  });
});

describe('oidArc component range', () => {
  it('accepts components up to 2^31 - 1 and names the first one above it', () => {
    expect(parseConfig({ oidArc: '1.3.6.1.4.1.2147483647' }).oidArc).toBe('1.3.6.1.4.1.2147483647');
    expect(refused({ oidArc: '1.3.6.1.4.1.99999.4294967296.1' }).message).toBe(
      'config oidArc: component 4294967296 exceeds 2147483647 (2^31 - 1), which many X.509 stacks refuse',
    );
  });

  it('tells an operator who wrote the legacy arc what to do', () => {
    expect(refused({ oidArc: LEGACY_AGENT_CA_ARC }).message).toMatch(
      /component 8486429543056106623930373175689343363 exceeds .*leave oidArc out to issue under 1\.2\.840\.113556\.1\.8000\.2554\./,
    );
  });

  it('a stored config holding the old default arc moves to the new default; others are kept', () => {
    expect(parseConfig(migrateStoredConfig({ ...DEFAULT_CONFIG, oidArc: LEGACY_AGENT_CA_ARC })).oidArc).toBe(
      AGENT_CA_ARC,
    );
    expect(migrateStoredConfig({ oidArc: '1.3.6.1.4.1.99999.7' }).oidArc).toBe('1.3.6.1.4.1.99999.7');
  });
});

describe('isDnsName', () => {
  it.each(['agents.example', 'a.b-c.example', 'x', `${'a'.repeat(63)}.example`])('accepts %s', (n) =>
    expect(isDnsName(n)).toBe(true),
  );
  it.each([
    '',
    'A.example',
    '-a.example',
    'a-.example',
    'a..example',
    'a_b.example',
    '*.example',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(127)}ab`,
  ])('refuses %s', (n) => expect(isDnsName(n)).toBe(false));
});
