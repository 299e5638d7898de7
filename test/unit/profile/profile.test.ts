/** Profile JSON -> frozen Profile: built-ins as shipped, and every refusal with PROFILE_INVALID. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentCaError } from '../../../src/errors.js';
import { AGENT_MAX_VALIDITY_DAYS, loadProfiles, parseProfile } from '../../../src/profile/profile.js';
import { KEY_TYPES } from '../../../src/types.js';

const agentRaw = {
  name: 'custom-agent',
  kind: 'agent',
  maxValidityDays: 60,
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['clientAuth'],
};

function refusal(raw: unknown): AgentCaError {
  try {
    parseProfile(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(AgentCaError);
    expect((e as AgentCaError).code).toBe('ACA_ERR_PROFILE_INVALID');
    return e as AgentCaError;
  }
  throw new Error(`profile accepted: ${JSON.stringify(raw)}`);
}

describe('built-in profiles (ca-config/profiles)', () => {
  const all = loadProfiles();
  it('are the five kinds with the documented limits', () => {
    expect([...all.keys()]).toEqual(['agent-high-risk', 'agent', 'intermediate', 'ocsp-responder', 'root']);
    expect(all.get('agent')).toMatchObject({
      kind: 'agent',
      maxValidityDays: AGENT_MAX_VALIDITY_DAYS,
      defaultValidityDays: 90,
      requireSan: true,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
    });
    expect(all.get('agent-high-risk')).toMatchObject({ kind: 'agent', maxValidityDays: 30, defaultValidityDays: 7 });
    expect(all.get('intermediate')).toMatchObject({
      kind: 'intermediate',
      pathLen: 0,
      keyUsage: ['keyCertSign', 'cRLSign'],
      extKeyUsage: [],
    });
    expect(all.get('ocsp-responder')).toMatchObject({
      kind: 'ocsp-responder',
      extKeyUsage: ['ocspSigning'],
      requireSan: false,
    });
    expect(all.get('root')!.pathLen).toBeUndefined();
    // OCSP validity: the 60 s revocation promise for agents (high-risk lower), a day for CA statuses.
    expect([...all.values()].map((p) => [p.name, p.ocspValiditySeconds])).toEqual([
      ['agent-high-risk', 30],
      ['agent', 60],
      ['intermediate', 86_400],
      ['ocsp-responder', 86_400],
      ['root', 86_400],
    ]);
    for (const p of all.values()) {
      expect(Object.isFrozen(p)).toBe(true);
      expect(p.keyTypes).toEqual(KEY_TYPES);
    }
  });
});

describe('parseProfile', () => {
  it('fills defaults: default validity = max, backdate 300 s, every key type, SAN required for agents', () => {
    const p = parseProfile(agentRaw);
    expect(p).toMatchObject({
      defaultValidityDays: 60,
      backdateSeconds: 300,
      keyTypes: KEY_TYPES,
      requireSan: true,
      description: '',
      ocspValiditySeconds: 60,
    });
    expect(
      parseProfile({
        ...agentRaw,
        kind: 'intermediate',
        name: 'ca',
        extKeyUsage: [],
        requireSan: false,
        keyUsage: ['keyCertSign'],
      }).ocspValiditySeconds,
    ).toBe(86_400);
    expect(Object.isFrozen(p.keyUsage)).toBe(true);
  });

  it.each([
    ['not an object', null, /not an object/],
    ['a name that is not kebab-case', { ...agentRaw, name: 'Custom_Agent' }, /name must be kebab-case/],
    [
      'an unknown kind',
      { ...agentRaw, kind: 'server' },
      /kind must be one of root, intermediate, agent, ocsp-responder/,
    ],
    [
      'an agent maximum over 365 days',
      { ...agentRaw, maxValidityDays: 366 },
      /maxValidityDays must be an integer in 1\.\.365/,
    ],
    ['a fractional maximum', { ...agentRaw, maxValidityDays: 30.5 }, /maxValidityDays/],
    [
      'a default above the maximum',
      { ...agentRaw, defaultValidityDays: 61 },
      /defaultValidityDays must be an integer in 1\.\.60/,
    ],
    ['a backdate over a day', { ...agentRaw, backdateSeconds: 86_401 }, /backdateSeconds/],
    ['a negative backdate', { ...agentRaw, backdateSeconds: -1 }, /backdateSeconds/],
    ['no key types', { ...agentRaw, keyTypes: [] }, /keyTypes must be a non-empty subset/],
    ['an uncertified key type', { ...agentRaw, keyTypes: ['p256', 'rsa1024'] }, /keyTypes/],
    ['no key usage', { ...agentRaw, keyUsage: [] }, /keyUsage must name RFC 5280/],
    ['an unknown key usage', { ...agentRaw, keyUsage: ['signEverything'] }, /keyUsage/],
    [
      'an unknown EKU',
      { ...agentRaw, extKeyUsage: ['codeSigning'] },
      /extKeyUsage must be among serverAuth, clientAuth, ocspSigning/,
    ],
    ['pathLen on a leaf', { ...agentRaw, pathLen: 0 }, /pathLen is for CA profiles only/],
    [
      'an OCSP validity under 10 s',
      { ...agentRaw, ocspValiditySeconds: 5 },
      /ocspValiditySeconds must be an integer in 10\.\.604800/,
    ],
    ['an OCSP validity over a week', { ...agentRaw, ocspValiditySeconds: 604_801 }, /ocspValiditySeconds/],
    [
      'pathLen out of range',
      { name: 'ca', kind: 'intermediate', maxValidityDays: 10, keyUsage: ['keyCertSign', 'cRLSign'], pathLen: 9 },
      /pathLen must be an integer in 0\.\.8/,
    ],
    [
      'an agent profile without a SAN',
      { ...agentRaw, requireSan: false },
      /agent profiles must require a subjectAltName/,
    ],
    [
      'a root over 25 years',
      { name: 'old-root', kind: 'root', maxValidityDays: 9133, keyUsage: ['keyCertSign'] },
      /1\.\.9132/,
    ],
  ])('refuses %s', (_what, raw, message) => {
    expect(refusal(raw).message).toMatch(message);
  });

  it('names the profile in the error details', () => {
    expect(refusal({ ...agentRaw, maxValidityDays: 0 }).details).toEqual({ profile: 'custom-agent' });
  });
});

describe('loadProfiles(dir)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const withFiles = (files: Record<string, string>) => {
    dir = mkdtempSync(join(tmpdir(), 'agent-ca-profiles-'));
    for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
    return dir;
  };

  it('reads only *.json files, sorted', () => {
    const d = withFiles({
      'b.json': JSON.stringify({ ...agentRaw, name: 'b-agent' }),
      'a.json': JSON.stringify({ ...agentRaw, name: 'a-agent' }),
      'notes.txt': 'ignored',
    });
    expect([...loadProfiles(d).keys()]).toEqual(['a-agent', 'b-agent']);
  });

  it('refuses a file that is not JSON, naming the file', () => {
    const d = withFiles({ 'broken.json': '{ "name": ' });
    expect(() => loadProfiles(d)).toThrowError(
      expect.objectContaining({ code: 'ACA_ERR_PROFILE_INVALID', message: expect.stringMatching(/^broken\.json: /) }),
    );
  });

  it('refuses the same profile name twice', () => {
    const d = withFiles({ 'one.json': JSON.stringify(agentRaw), 'two.json': JSON.stringify(agentRaw) });
    expect(() => loadProfiles(d)).toThrowError(
      expect.objectContaining({
        code: 'ACA_ERR_PROFILE_INVALID',
        message: expect.stringMatching(/custom-agent: defined twice \(two\.json\)/),
      }),
    );
  });
});
