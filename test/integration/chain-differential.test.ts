/**
 * Differential path validation: every chain, good and deliberately bad, goes through
 * src/actions/chain.ts (validatePath) and through `openssl verify -x509_strict -purpose
 * sslclient`, and both must give the same verdict. The chains are every vector agent chain
 * (each CA key type, each agent key type, the boundary certificates) and minted ones (test
 * helper mint.ts) that the Issuer would refuse to make: wrong issuer, expired or not yet valid
 * (leaf and intermediate), pathLen exceeded, an unknown critical extension (leaf and
 * intermediate), cA FALSE or no keyCertSign on the intermediate, an agent extension made critical.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePath } from '../../src/actions/chain.js';
import { sequence } from '../../src/asn1/der.js';
import { AgentOids, Oids } from '../../src/asn1/oids.js';
import { pemOrDer } from '../../src/asn1/pem.js';
import { keyUsageValue } from '../../src/asn1/x509-extensions.js';
import { FixedClock } from '../../src/clock.js';
import { extensionEntry } from '../../src/profile/build-tbs.js';
import type { ExtensionEntry } from '../../src/profile/tbs.js';
import { mint, type Minted } from '../helpers/mint.js';
import { openssl, tempDir, unixTime, type TempDir } from '../helpers/openssl.js';

const VECTORS = fileURLToPath(new URL('../../vectors/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(VECTORS, 'manifest.json'), 'utf8')) as {
  vectors: {
    file: string;
    kind: string;
    profile?: string;
    verifyAt?: string;
    notBefore?: string;
    notAfter?: string;
    chain?: { root: string; intermediate: string };
  }[];
};
const DAY = 86_400_000;
const T0 = '2026-06-01T00:00:00Z';

interface Case {
  name: string;
  leaf: string; // PEM
  intermediates: string[];
  root: string;
  at: Date;
  expect: boolean;
  /** For a refusal: what openssl and chain.ts must say (so both refuse for the same reason). */
  why?: [RegExp, RegExp];
}

let tmp: TempDir;
beforeAll(() => {
  tmp = tempDir('agent-ca-chain-diff-');
});
afterAll(() => tmp.cleanup());

let n = 0;
function opensslVerdict(c: Case): { ok: boolean; out: string } {
  const dir = tmp.dir;
  const id = ++n;
  const root = join(dir, `${id}-root.pem`);
  const untrusted = join(dir, `${id}-untrusted.pem`);
  const leaf = join(dir, `${id}-leaf.pem`);
  writeFileSync(root, c.root);
  writeFileSync(untrusted, c.intermediates.join(''));
  writeFileSync(leaf, c.leaf);
  const args = ['verify', '-x509_strict', '-purpose', 'sslclient', '-attime', String(unixTime(c.at)), '-CAfile', root];
  if (c.intermediates.length > 0) args.push('-untrusted', untrusted);
  const r = openssl([...args, leaf]);
  return { ok: r.status === 0 && /: OK\s*$/.test(r.stdout), out: r.stdout + r.stderr };
}

function oursVerdict(c: Case): { ok: boolean; out: string } {
  const der = (pem: string) => pemOrDer(Buffer.from(pem), ['CERTIFICATE']);
  const r = validatePath(der(c.leaf), c.intermediates.map(der), [der(c.root)], c.at);
  return { ok: r.ok, out: r.ok ? 'ok' : `${r.reason}: ${r.detail}` };
}

function check(c: Case): void {
  const o = opensslVerdict(c);
  const m = oursVerdict(c);
  expect({ case: c.name, openssl: o.ok }, o.out).toEqual({ case: c.name, openssl: c.expect });
  expect({ case: c.name, chain: m.ok }, m.out).toEqual({ case: c.name, chain: c.expect });
  if (c.why) {
    expect(o.out, c.name).toMatch(c.why[0]);
    expect(m.out, c.name).toMatch(c.why[1]);
  }
}

const read = (rel: string) => readFileSync(join(VECTORS, rel), 'utf8');

describe('vector chains: openssl and chain.ts agree', () => {
  const agents = manifest.vectors.filter(
    (v) => v.kind === 'certificate' && (v.profile === 'agent' || v.profile === 'agent-high-risk') && v.chain,
  );

  it('every vector agent chain is valid at verifyAt for both', () => {
    expect(agents.length).toBeGreaterThan(30);
    for (const v of agents)
      check({
        name: v.file,
        leaf: read(v.file),
        intermediates: [read(v.chain!.intermediate)],
        root: read(v.chain!.root),
        at: new Date(v.verifyAt!),
        expect: true,
      });
  });

  it('wrong issuer: every agent against another CA key type’s root and intermediate', () => {
    const other = (ca: string) => (ca.startsWith('ca-p256/') ? 'ca-p384' : 'ca-p256');
    for (const v of agents) {
      const o = other(v.file);
      check({
        name: `${v.file} under ${o}`,
        leaf: read(v.file),
        intermediates: [read(`${o}/intermediate.pem`)],
        root: read(`${o}/root.pem`),
        at: new Date(v.verifyAt!),
        expect: false,
      });
    }
  });

  it('missing intermediate, and the intermediate given as the anchor with the wrong root', () => {
    const v = agents[0]!;
    check({
      name: 'no intermediate',
      leaf: read(v.file),
      intermediates: [],
      root: read(v.chain!.root),
      at: new Date(v.verifyAt!),
      expect: false,
    });
  });

  it('expired one second after notAfter, not yet valid one second before notBefore', () => {
    for (const v of agents.filter((x) => x.file.startsWith('ca-p256/'))) {
      const base = { leaf: read(v.file), intermediates: [read(v.chain!.intermediate)], root: read(v.chain!.root) };
      check({
        ...base,
        name: `${v.file} expired`,
        at: new Date(new Date(v.notAfter!).getTime() + 1000),
        expect: false,
      });
      check({
        ...base,
        name: `${v.file} not yet valid`,
        at: new Date(new Date(v.notBefore!).getTime() - 1000),
        expect: false,
      });
      check({ ...base, name: `${v.file} at notBefore`, at: new Date(v.notBefore!), expect: true });
    }
  });

  it('at exactly notAfter: RFC 5280 §4.1.2.5 says valid (chain.ts); OpenSSL 3.0 already says expired', () => {
    // The one known divergence, and openssl's side of it is the non-conforming one
    // (X509_cmp_time treats "equal" as "earlier"; vectors/README.md). chain.ts follows the RFC.
    const v = agents.find((x) => x.file === 'ca-p256/boundary/agent-365-days.pem') ?? agents[0]!;
    const c = {
      name: 'at notAfter',
      leaf: read(v.file),
      intermediates: [read(v.chain!.intermediate)],
      root: read(v.chain!.root),
      at: new Date(v.notAfter!),
      expect: true,
    };
    expect(oursVerdict(c).ok).toBe(true);
    expect(opensslVerdict(c).ok).toBe(false);
  });
});

describe('minted chains: openssl and chain.ts agree', () => {
  const clock = new FixedClock(T0);
  let root: Minted;
  let inter: Minted;
  const at = new Date(new Date(T0).getTime() + DAY);
  const chain = (leaf: Minted, ...mids: Minted[]): Omit<Case, 'name' | 'expect'> => ({
    leaf: leaf.pem,
    intermediates: mids.map((m) => m.pem),
    root: root.pem,
    at,
  });
  const replace = (oid: string, e: ExtensionEntry | undefined) => (exts: readonly ExtensionEntry[]) =>
    exts.flatMap((x) => (x.oid === oid ? (e ? [e] : []) : [x]));
  const add = (e: ExtensionEntry) => (exts: readonly ExtensionEntry[]) => [...exts, e];
  const unknownCritical = extensionEntry('unknown', '1.3.6.1.4.1.55555.99', true, Buffer.from([0x05, 0x00]));

  beforeAll(async () => {
    root = await mint('diff-root', undefined, clock, { profile: 'root' });
    inter = await mint('diff-intermediate', root, clock, { profile: 'intermediate' });
  });

  it('root -> intermediate -> agent, and root -> agent directly, are valid', async () => {
    check({ name: 'good', ...chain(await mint('good-agent', inter, clock), inter), expect: true });
    check({ name: 'agent under the root', ...chain(await mint('root-agent', root, clock)), expect: true });
  });

  it('pathLen exceeded: a CA below the pathLen-0 intermediate', async () => {
    const sub = await mint('diff-sub-ca', inter, clock, { profile: 'intermediate' });
    check({
      name: 'pathLen 0 exceeded',
      ...chain(await mint('deep-agent', sub, clock), sub, inter),
      expect: false,
      why: [/path length constraint exceeded/, /pathLenConstraint 0 exceeded/],
    });
    // with pathLen 1 on the intermediate the same shape is valid
    const wide = await mint('diff-wide-intermediate', root, clock, { profile: 'intermediate', pathLen: 1 });
    const sub1 = await mint('diff-sub-ca-1', wide, clock, { profile: 'intermediate' });
    check({
      name: 'pathLen 1 admits one CA below',
      ...chain(await mint('deep-agent-ok', sub1, clock), sub1, wide),
      expect: true,
    });
  });

  it('unknown critical extension, in the agent and in the intermediate', async () => {
    check({
      name: 'critical unknown in leaf',
      ...chain(await mint('crit-agent', inter, clock, { patch: add(unknownCritical) }), inter),
      expect: false,
      why: [/unhandled critical extension/, /unknown critical extension 1\.3\.6\.1\.4\.1\.55555\.99/],
    });
    const critInter = await mint('diff-crit-intermediate', root, clock, {
      profile: 'intermediate',
      patch: add(unknownCritical),
    });
    check({
      name: 'critical unknown in intermediate',
      ...chain(await mint('under-crit', critInter, clock), critInter),
      expect: false,
      why: [/unhandled critical extension/, /diff-crit-intermediate.*unknown critical extension/],
    });
    // the same extension non-critical is ignored by both
    const benign = extensionEntry('unknown', '1.3.6.1.4.1.55555.99', false, Buffer.from([0x05, 0x00]));
    check({
      name: 'non-critical unknown in leaf',
      ...chain(await mint('benign-agent', inter, clock, { patch: add(benign) }), inter),
      expect: true,
    });
  });

  it('one of our agent extensions made critical is refused by both', async () => {
    const scope = extensionEntry('agentScope', AgentOids.agentScope, true, sequence());
    check({
      name: 'critical agentScope',
      ...chain(await mint('crit-scope', inter, clock, { patch: add(scope) }), inter),
      expect: false,
      why: [/unhandled critical extension/, /unknown critical extension/],
    });
  });

  it('cA FALSE intermediate, intermediate without basicConstraints, intermediate without keyCertSign', async () => {
    const caFalse = await mint('diff-cafalse', root, clock, {
      profile: 'intermediate',
      patch: replace(
        Oids.basicConstraints,
        extensionEntry('basicConstraints', Oids.basicConstraints, true, sequence()),
      ),
    });
    check({
      name: 'cA FALSE intermediate',
      ...chain(await mint('under-cafalse', caFalse, clock), caFalse),
      expect: false,
      why: [/invalid CA certificate/, /diff-cafalse is not a CA/],
    });
    const noBc = await mint('diff-nobc', root, clock, {
      profile: 'intermediate',
      patch: replace(Oids.basicConstraints, undefined),
    });
    check({
      name: 'intermediate without basicConstraints',
      ...chain(await mint('under-nobc', noBc, clock), noBc),
      expect: false,
      why: [/invalid CA certificate/, /diff-nobc is not a CA/],
    });
    const noSign = await mint('diff-nosign', root, clock, {
      profile: 'intermediate',
      patch: replace(Oids.keyUsage, extensionEntry('keyUsage', Oids.keyUsage, true, keyUsageValue(['cRLSign']))),
    });
    check({
      name: 'intermediate without keyCertSign',
      ...chain(await mint('under-nosign', noSign, clock), noSign),
      expect: false,
      why: [/key usage does not include certificate signing/, /diff-nosign.*keyCertSign/],
    });
  });

  it('expired intermediate with a valid agent; agent not yet valid', async () => {
    const short = await mint('diff-short-intermediate', root, clock, { profile: 'intermediate', validityDays: 1 });
    const agent = await mint('under-short', short, clock, { validityDays: 30 });
    check({
      name: 'expired intermediate',
      ...chain(agent, short),
      at: new Date(new Date(T0).getTime() + 2 * DAY),
      expect: false,
      why: [/certificate has expired/, /intermediate CA certificate .* expired/],
    });
    const later = await mint('later-agent', inter, new FixedClock(new Date(new Date(T0).getTime() + 10 * DAY)));
    check({
      name: 'agent not yet valid',
      ...chain(later, inter),
      expect: false,
      why: [/not yet valid/, /not valid before/],
    });
  });

  it('an agent certificate used as an issuer', async () => {
    const agent = await mint('issuing-agent', inter, clock);
    check({
      name: 'agent as issuer',
      ...chain(await mint('under-agent', agent, clock), agent, inter),
      expect: false,
      why: [/invalid CA certificate/, /issuing-agent.*(not a CA|keyCertSign)/],
    });
  });
});
