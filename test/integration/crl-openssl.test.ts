/**
 * Full and delta CRLs checked by the openssl binary (every artifact a counterparty sees is
 * checked by openssl): a CA hierarchy in a temp dir (LevelDB store, RSA keys), agent
 * certificates, revocations written straight into the store, CRLs from the CrlPublisher, then
 * `openssl crl` and `openssl verify -crl_check[_all] [-extended_crl -use_deltas]`.
 *
 * The steps share one CA and run in order; the clock starts a few minutes in the past so that
 * every thisUpdate is already valid for openssl, which uses the real time.
 */
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPem } from '../../src/asn1/pem.js';
import type { Authority } from '../../src/authority/authority.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { FixedClock } from '../../src/clock.js';
import { CrlPublisher, crlIssuerFromCa } from '../../src/crl/publisher.js';
import type { CrlRecord, RevocationReason } from '../../src/store/ports.js';
import type { IssuerId, Serial } from '../../src/types.js';
import { makeTmpDir, type TmpDir } from '../helpers/tmp-dir.js';

const INT = 'intermediate' as IssuerId;
const ROOT = 'root' as IssuerId;

let tmp: TmpDir;
let authority: Authority;
let clock: FixedClock;
let publisher: CrlPublisher;
const agents: Record<string, Serial> = {};
const timings: Record<string, number> = {};

function openssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { cwd: tmp.dir, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function writeCrl(name: string, rec: CrlRecord): string {
  writeFileSync(join(tmp.dir, name), toPem(rec.der, 'X509 CRL'));
  return name;
}

/** `openssl verify -crl_check` of an agent against root (trusted) + intermediate (untrusted). */
function verify(agent: string, crls: string[], flags: string[] = []): { ok: boolean; out: string } {
  const r = openssl([
    'verify',
    '-crl_check',
    ...flags,
    '-CAfile',
    'root.pem',
    '-untrusted',
    'int.pem',
    ...crls.flatMap((c) => ['-CRLfile', c]),
    `${agent}.pem`,
  ]);
  return { ok: r.status === 0 && r.out.includes(`${agent}.pem: OK`), out: r.out };
}

async function revoke(
  serial: Serial,
  reason: RevocationReason,
  issuerId: IssuerId = INT,
  invalidityDate?: Date,
): Promise<void> {
  clock.advance(1_000);
  const record = {
    serial,
    issuerId,
    revokedAt: clock.now(),
    reason,
    actor: 'test',
    ...(invalidityDate ? { invalidityDate } : {}),
  };
  await authority.store.commit([{ op: 'putRevocation', record }]);
}

async function release(serial: Serial): Promise<void> {
  clock.advance(1_000);
  await authority.store.commit([{ op: 'deleteRevocation', serial, issuerId: INT, at: clock.now(), actor: 'test' }]);
}

async function publish(kind: 'full' | 'delta', issuerId: IssuerId = INT): Promise<CrlRecord> {
  clock.advance(1_000);
  const t0 = performance.now();
  const rec = kind === 'full' ? await publisher.publishFull(issuerId) : await publisher.publishDelta(issuerId);
  timings[`publish ${kind} ${issuerId} #${rec.number}`] = Math.round(performance.now() - t0);
  return rec;
}

const hexSerial = (s: Serial) => s.toUpperCase();

beforeAll(async () => {
  tmp = await makeTmpDir('agent-ca-crl-');
  clock = new FixedClock(Date.now() - 10 * 60_000);
  const t0 = performance.now();
  authority = await createAuthority({ dataDir: tmp.dir, clock, env: {} });
  await authority.init({ config: { keyType: 'rsa2048', organization: 'CRL Test Org' }, keyType: 'rsa2048' });
  timings['init (RSA hierarchy)'] = Math.round(performance.now() - t0);
  const chain = authority.chain();
  writeFileSync(join(tmp.dir, 'root.pem'), chain.root);
  writeFileSync(join(tmp.dir, 'int.pem'), chain.intermediate);
  writeFileSync(join(tmp.dir, 'chain.pem'), chain.root + chain.intermediate);
  for (const name of ['good', 'compromised', 'unspecified', 'late', 'held', 'onhold', 'idp-late']) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const issued = await authority.issue({
      agentId: `${name}-bot`,
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
    });
    writeFileSync(join(tmp.dir, `${name}.pem`), issued.pem);
    agents[name] = issued.serial;
  }
  publisher = new CrlPublisher({
    store: authority.store,
    clock,
    issuers: {
      root: crlIssuerFromCa(authority.ca('root')),
      intermediate: crlIssuerFromCa(authority.ca('intermediate')),
    },
  });
});

afterAll(async () => {
  await authority?.close();
  await tmp?.cleanup();

  console.log('crl-openssl timings (ms):', JSON.stringify(timings));
});

describe('CRLs checked by openssl', () => {
  let full1: string;
  let delta1: string;
  let full2: string;
  let delta2: string;
  let rootEmpty: string;

  it('a full CRL verifies against the chain and shows number, AKI, Freshest CRL, reasons and invalidity dates', async () => {
    await revoke(agents.compromised!, 'keyCompromise', INT, new Date(clock.now().getTime() - 3_600_000));
    await revoke(agents.unspecified!, 'unspecified');
    full1 = writeCrl('full1.pem', await publish('full'));

    const v = openssl(['crl', '-in', full1, '-CAfile', 'chain.pem', '-verify', '-noout']);
    expect(v.status).toBe(0);
    expect(v.out).toContain('verify OK');

    const text = openssl(['crl', '-in', full1, '-text', '-noout']).out;
    expect(text).toMatch(/Version 2/);
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*1\n/);
    const keyId = authority.ca('intermediate').issuing.keyId.toString('hex').toUpperCase().match(/../g)!.join(':');
    expect(text).toMatch(new RegExp(`X509v3 Authority Key Identifier:\\s*\\n\\s*(keyid:)?${keyId}`));
    expect(text).toMatch(
      /X509v3 Freshest CRL:\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/127\.0\.0\.1:8080\/crl\/intermediate-delta\.crl/,
    );
    const compromised = text.slice(text.indexOf(`Serial Number: ${hexSerial(agents.compromised!)}`));
    expect(compromised).toMatch(
      /^Serial Number: \S+\n\s+Revocation Date: .+\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code:\s*\n\s+Key Compromise\n\s+Invalidity Date:/,
    );
    // reason unspecified: no reasonCode (RFC 5280 §5.3.1), so no entry extensions at all
    const unspecified = text.slice(text.indexOf(`Serial Number: ${hexSerial(agents.unspecified!)}`));
    expect(unspecified).toMatch(/^Serial Number: \S+\n\s+Revocation Date: .+\n\s+(Serial Number|Signature Algorithm)/);
  });

  it('an empty CRL has no Revoked Certificates list and openssl accepts it', async () => {
    rootEmpty = writeCrl('root-empty.pem', await publish('full', ROOT));
    const v = openssl(['crl', '-in', rootEmpty, '-CAfile', 'root.pem', '-verify', '-noout']);
    expect(v.out).toContain('verify OK');
    const text = openssl(['crl', '-in', rootEmpty, '-text', '-noout']).out;
    expect(text).toContain('No Revoked Certificates.');
    expect(text).not.toContain('Serial Number:');
    const asn1 = openssl(['asn1parse', '-in', rootEmpty]).out;
    // version, algorithm, issuer, two times, then straight to the [0] extensions
    expect(asn1).toMatch(/UTCTIME[^\n]*\n[^\n]*UTCTIME[^\n]*\n[^\n]*cons: cont \[ 0 \]/);
  });

  it('openssl verify -crl_check rejects revoked agents and accepts a good one', () => {
    expect(verify('good', [full1])).toMatchObject({ ok: true });
    for (const name of ['compromised', 'unspecified']) {
      const r = verify(name, [full1]);
      expect(r.ok).toBe(false);
      expect(r.out).toContain('certificate revoked');
    }
  });

  it('a delta CRL (-extended_crl -use_deltas) rejects a certificate revoked or held after the full CRL', async () => {
    await revoke(agents.late!, 'superseded');
    await revoke(agents.held!, 'certificateHold');
    delta1 = writeCrl('delta1.pem', await publish('delta'));

    const text = openssl(['crl', '-in', delta1, '-text', '-noout']).out;
    expect(text).toMatch(/X509v3 Delta CRL Indicator: critical\s*\n\s*1\n/);
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*2\n/);
    expect(text).not.toContain('Freshest CRL');
    expect(text).toContain(`Serial Number: ${hexSerial(agents.late!)}`);
    expect(text.slice(text.indexOf(`Serial Number: ${hexSerial(agents.held!)}`))).toMatch(/Certificate Hold/);
    expect(text).not.toContain(`Serial Number: ${hexSerial(agents.compromised!)}`); // already on the base
    expect(openssl(['crl', '-in', delta1, '-CAfile', 'chain.pem', '-verify', '-noout']).out).toContain('verify OK');

    const deltas = ['-extended_crl', '-use_deltas'];
    expect(verify('good', [full1, delta1], deltas)).toMatchObject({ ok: true });
    for (const name of ['late', 'held', 'compromised']) {
      const r = verify(name, [full1, delta1], deltas);
      expect(r.ok, name).toBe(false);
      expect(r.out).toContain('certificate revoked');
    }
    // without the delta, the full CRL alone does not know about the late revocation
    expect(verify('late', [full1])).toMatchObject({ ok: true });
  });

  it('a released hold that was on the base is listed as removeFromCRL and accepted again', async () => {
    await revoke(agents.onhold!, 'certificateHold');
    full2 = writeCrl('full2.pem', await publish('full'));
    const fullText = openssl(['crl', '-in', full2, '-text', '-noout']).out;
    expect(fullText).toMatch(/X509v3 CRL Number:\s*\n\s*3\n/);
    expect(fullText.slice(fullText.indexOf(`Serial Number: ${hexSerial(agents.onhold!)}`))).toMatch(/Certificate Hold/);
    expect(verify('onhold', [full2]).out).toContain('certificate revoked');

    await release(agents.onhold!);
    delta2 = writeCrl('delta2.pem', await publish('delta'));
    const text = openssl(['crl', '-in', delta2, '-text', '-noout']).out;
    expect(text).toMatch(/X509v3 Delta CRL Indicator: critical\s*\n\s*3\n/);
    expect(text.slice(text.indexOf(`Serial Number: ${hexSerial(agents.onhold!)}`))).toMatch(/Remove From CRL/);

    const deltas = ['-extended_crl', '-use_deltas'];
    expect(verify('onhold', [full2, delta2], deltas)).toMatchObject({ ok: true });
    expect(verify('onhold', [full2]).ok).toBe(false); // the full CRL alone still shows the hold
    expect(verify('held', [full2, delta2], deltas).ok).toBe(false);
    expect(verify('good', [full2, delta2], deltas)).toMatchObject({ ok: true });
  });

  it("the root's CRL lists a revoked intermediate and -crl_check_all then rejects agents under it", async () => {
    expect(verify('good', [rootEmpty, full2], ['-crl_check_all'])).toMatchObject({ ok: true });

    await revoke(authority.ca('intermediate').certificate.serial, 'cACompromise', ROOT);
    const rootFull = writeCrl('root-full.pem', await publish('full', ROOT));
    const text = openssl(['crl', '-in', rootFull, '-text', '-noout']).out;
    expect(
      text.slice(text.indexOf(`Serial Number: ${hexSerial(authority.ca('intermediate').certificate.serial)}`)),
    ).toMatch(/CA Compromise/);
    expect(openssl(['crl', '-in', rootFull, '-CAfile', 'root.pem', '-verify', '-noout']).out).toContain('verify OK');

    const r = verify('good', [rootFull, full2], ['-crl_check_all']);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/error 23 at 1 depth lookup: certificate revoked/);
    // -crl_check (leaf only) does not look at the intermediate's status
    expect(verify('good', [rootFull, full2])).toMatchObject({ ok: true });
  });

  it("an IssuingDistributionPoint (§5.2.5) on full and delta CRLs matches the certificates' CRL DP for openssl", async () => {
    const ca = authority.ca('intermediate');
    const idpPublisher = new CrlPublisher({
      store: authority.store,
      clock,
      issuers: {
        intermediate: { ...crlIssuerFromCa(ca), idp: { url: ca.issuing.urls.crl, onlyContainsUserCerts: true } },
      },
    });
    clock.advance(1_000);
    const full3 = writeCrl('full3.pem', await idpPublisher.publishFull(INT));
    await revoke(agents['idp-late']!, 'privilegeWithdrawn');
    clock.advance(1_000);
    const delta3 = writeCrl('delta3.pem', await idpPublisher.publishDelta(INT));
    for (const f of [full3, delta3]) {
      const text = openssl(['crl', '-in', f, '-text', '-noout']).out;
      expect(text).toMatch(
        /X509v3 Issuing Distribution Point: critical\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/127\.0\.0\.1:8080\/crl\/intermediate\.crl/,
      );
      expect(text).toContain('Only User Certificates');
    }
    const deltas = ['-extended_crl', '-use_deltas'];
    expect(verify('good', [full3, delta3], deltas)).toMatchObject({ ok: true });
    const r = verify('idp-late', [full3, delta3], deltas);
    expect(r.ok).toBe(false);
    expect(r.out).toContain('certificate revoked');
    expect(verify('idp-late', [full3], deltas)).toMatchObject({ ok: true }); // only the delta knows
  });
});
