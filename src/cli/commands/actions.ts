/**
 * `agent-ca sign-action` (authority side: finds the certificate, signs with the agent's recorded
 * KMS key or --key) and `agent-ca verify-action` (counterparty side: needs no data directory,
 * only the root certificate it trusts; status by OCSP to the AIA URL unless told otherwise).
 * verify-action exits 0 on allow and 1 on deny with `deny: <reason>: <detail>` on stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAmountText } from '../../actions/claims.js';
import { createActionEnvelope, signAction } from '../../actions/sign.js';
import { pemOrDer } from '../../asn1/pem.js';
import { systemClock } from '../../clock.js';
import { openAgentKey, type AgentKey } from '../../client/agent-key.js';
import type { ActionVerdict, StatusSource } from '../../actions/types.js';
import { verifyAction } from '../../actions/verify.js';
import { FileReplayCache } from '../../actions/file-replay-cache.js';
import { parse, positiveInt, required, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { adminCall, adminRequest, serverOf } from '../remote.js';
import { AgentCaError } from '../../errors.js';
import { defaultDataDir } from '../../authority/create-authority.js';
import type { ActionSigningAuthority } from '../../actions/sign.js';
import type { KeyUri } from '../../types.js';

export const signActionUsage =
  'agent-ca sign-action (--serial S [--key FILE] | --cert AGENT.pem [--intermediate FILE] (--key-uri awskms:key-id=ARN|pkcs11:... | --key FILE)) --payload FILE --action A [--amount 100:USD] [--market EUR_USD] --out ENV.json [--server URL]';
export const verifyActionUsage =
  'agent-ca verify-action ENV.json --action A [--amount 100:USD] [--market EUR_USD] [--payload FILE] --ca ROOT.pem [--intermediate FILE] [--ocsp URL | --crl URL | --crl-dp | --offline-status good] [--max-age S] [--at TIME] [--replay-cache FILE]';

function readFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function signActionCommand(argv: string[], io: Io): Promise<number> {
  const { values: v } = parse(argv, {
    serial: { type: 'string' },
    payload: { type: 'string' },
    action: { type: 'string' },
    amount: { type: 'string' },
    market: { type: 'string' },
    key: { type: 'string' },
    'key-uri': { type: 'string' },
    cert: { type: 'string' },
    intermediate: { type: 'string' },
    out: { type: 'string' },
    data: { type: 'string' },
    server: { type: 'string' },
  });
  const server = serverOf(v, io);
  if (v.cert !== undefined) {
    if (v.server !== undefined) throw new UsageError('--cert signs without the CA: give no --server');
    return signWithOwnKey(v, io);
  }
  if (v['key-uri'] !== undefined || v.intermediate !== undefined)
    throw new UsageError('--key-uri and --intermediate go with --cert (signing without a data directory)');
  const serial = required(v.serial, '--serial');
  const payload = readFile(required(v.payload, '--payload'), '--payload');
  const action = required(v.action, '--action');
  const out = required(v.out, '--out');
  const amount = v.amount !== undefined ? parseAmountText(v.amount) : undefined;
  const key = v.key !== undefined ? readFile(v.key, '--key') : undefined;
  const sign = async (a: ActionSigningAuthority) => {
    const passphrase = io.env.AGENT_CA_PASSPHRASE;
    const envelope = await signAction(
      a,
      {
        serial,
        payload,
        action,
        ...(amount ? { amount } : {}),
        ...(v.market !== undefined ? { market: v.market } : {}),
        ...(key ? { key } : {}),
      },
      { signerContext: { dataDir: a.dataDir!, env: io.env, ...(passphrase ? { passphrase } : {}) } },
    );
    writeEnvelope(envelope, out, `${action} as ${serial}`, io);
    return 0;
  };
  if (server) return sign(await remoteSigningAuthority(server, io, v.data));
  return withAuthority(io, v.data, sign);
}

/**
 * signAction over a running server (--server): the certificate, its status and recorded key URI
 * come from the admin API, the signature is made here with --key, the KMS/HSM key the URI names,
 * or the soft key the CA made in the data directory (files there are readable while the server
 * holds the database).
 */
async function remoteSigningAuthority(
  server: string,
  io: Io,
  dataDir: string | undefined,
): Promise<ActionSigningAuthority> {
  // signAction asks show() first, then ca('intermediate'): the issuer is the one show() fetched.
  let issuerDer: Buffer | undefined;
  return {
    clock: systemClock,
    dataDir: dataDir ?? defaultDataDir(io.env),
    async show(serial: string) {
      const path = `api/v1/certificates/${encodeURIComponent(serial)}`;
      const view = await adminCall<{
        serial: string;
        status: string;
        profile: string;
        issuer: string;
        keyUri?: string;
      }>(server, io, 'GET', path);
      const pems = (await adminRequest(server, io, 'GET', `${path}/chain.pem`)).toString('utf8');
      const ders = (pems.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) =>
        pemOrDer(p, ['CERTIFICATE']),
      );
      if (ders.length === 0) throw new AgentCaError('INTERNAL', `${server} returned no certificate for ${serial}`);
      issuerDer = ders[1];
      return {
        record: {
          serial: view.serial,
          der: ders[0]!,
          ...(view.keyUri ? { keyUri: view.keyUri as KeyUri } : {}),
          isCa: view.profile === 'root' || view.profile === 'intermediate',
          profile: view.profile,
          issuerId: view.issuer,
        },
        status: { state: view.status },
      };
    },
    ca() {
      const issuer = issuerDer;
      if (!issuer) throw new AgentCaError('INTERNAL', `${server} returned no issuing CA certificate`);
      return { certificate: { der: issuer } };
    },
  };
}

function writeEnvelope(envelope: unknown, out: string, what: string, io: Io): void {
  const json = `${JSON.stringify(envelope, null, 2)}\n`;
  if (out === '-') io.out(json.trimEnd());
  else {
    writeFileSync(out, json);
    io.out(`signed ${what}: ${out}`);
  }
}

/** The agent side: its certificate and its own key (KMS / PKCS#11 URI or PEM), no data directory. */
async function signWithOwnKey(
  v: {
    serial?: string;
    cert?: string;
    intermediate?: string;
    key?: string;
    'key-uri'?: string;
    payload?: string;
    action?: string;
    amount?: string;
    market?: string;
    out?: string;
    data?: string;
  },
  io: Io,
): Promise<number> {
  if (v.serial !== undefined || v.data !== undefined)
    throw new UsageError('--cert signs without the CA: give no --serial or --data');
  if ((v.key === undefined) === (v['key-uri'] === undefined))
    throw new UsageError('with --cert give exactly one of --key FILE or --key-uri URI');
  const pems =
    readFile(v.cert!, '--cert').toString('utf8') +
    (v.intermediate !== undefined ? readFile(v.intermediate, '--intermediate').toString('utf8') : '');
  const chain = (pems.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) =>
    pemOrDer(p, ['CERTIFICATE']),
  );
  if (chain.length === 0) throw new UsageError(`--cert: no PEM certificate in ${v.cert}`);
  const payload = readFile(required(v.payload, '--payload'), '--payload');
  const action = required(v.action, '--action');
  const out = required(v.out, '--out');
  const amount = v.amount !== undefined ? parseAmountText(v.amount) : undefined;
  const passphrase = io.env.AGENT_CA_KEY_PASSPHRASE;
  const key: AgentKey =
    v['key-uri'] !== undefined
      ? { uri: v['key-uri'] }
      : { pem: readFile(v.key!, '--key'), ...(passphrase ? { passphrase } : {}) };
  const { signer, owned } = await openAgentKey(key, { env: io.env });
  try {
    const envelope = await createActionEnvelope({
      signer,
      chain,
      clock: systemClock,
      payload,
      action,
      ...(amount ? { amount } : {}),
      ...(v.market !== undefined ? { market: v.market } : {}),
    });
    writeEnvelope(envelope, out, `${action} with ${v.cert}`, io);
  } finally {
    if (owned) await signer.close?.();
  }
  return 0;
}

function statusFrom(
  v: { ocsp?: string; crl?: string; 'crl-dp'?: boolean; 'offline-status'?: string },
  io: Io,
): StatusSource {
  const chosen = [
    v.ocsp !== undefined,
    v.crl !== undefined,
    v['crl-dp'] === true,
    v['offline-status'] !== undefined,
  ].filter(Boolean).length;
  if (chosen > 1) throw new UsageError('give at most one of --ocsp URL, --crl URL, --crl-dp, --offline-status good');
  if (v['offline-status'] !== undefined) {
    if (v['offline-status'] !== 'good') throw new UsageError('--offline-status only accepts "good"');
    io.err('warning: revocation status NOT checked (--offline-status good)');
    return () => ({ state: 'good' });
  }
  if (v.crl !== undefined) return { crl: { url: v.crl } };
  if (v['crl-dp']) return 'crl';
  if (v.ocsp !== undefined) return { ocsp: { url: v.ocsp } };
  return 'ocsp';
}

function summary(verdict: ActionVerdict): Record<string, unknown> {
  if (!verdict.allow) return verdict as unknown as Record<string, unknown>;
  const { certificate: _omit, ...rest } = verdict;
  return { ...rest, issuedAt: verdict.issuedAt.toISOString() };
}

export async function verifyActionCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    argv,
    {
      action: { type: 'string' },
      amount: { type: 'string' },
      market: { type: 'string' },
      payload: { type: 'string' },
      ca: { type: 'string', multiple: true },
      intermediate: { type: 'string', multiple: true },
      ocsp: { type: 'string' },
      crl: { type: 'string' },
      'crl-dp': { type: 'boolean' },
      'offline-status': { type: 'string' },
      'max-age': { type: 'string' },
      at: { type: 'string' },
      'replay-cache': { type: 'string' },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError(`usage: ${verifyActionUsage}`);
  const envelope = readFile(positionals[0]!, 'ENV.json');
  const action = required(v.action, '--action');
  // A counterparty must say which root it trusts: the chain inside the envelope proves nothing on its own.
  if (!v.ca?.length) throw new UsageError('--ca ROOT.pem is required (the root certificate you trust)');
  const trustAnchors = v.ca.map((p) => readFile(p, '--ca'));
  const intermediates = (v.intermediate ?? []).map((p) => readFile(p, '--intermediate'));
  const payload = v.payload !== undefined ? readFile(v.payload, '--payload') : undefined;
  const amount = v.amount !== undefined ? parseAmountText(v.amount) : undefined;
  const maxAge = positiveInt(v['max-age'], '--max-age');
  let now: Date | undefined;
  if (v.at !== undefined) {
    now = new Date(v.at);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--at must be an ISO 8601 time, got ${JSON.stringify(v.at)}`);
  }
  const verdict = await verifyAction(envelope, {
    action,
    ...(amount ? { amount } : {}),
    ...(v.market !== undefined ? { market: v.market } : {}),
    ...(payload ? { payload } : {}),
    trustAnchors,
    intermediates,
    status: statusFrom(v, io),
    ...(now ? { now } : {}),
    ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : {}),
    // Each run is a new process: only a file remembers the envelopes already accepted.
    ...(v['replay-cache'] !== undefined ? { replay: new FileReplayCache(v['replay-cache']) } : {}),
  });
  io.out(JSON.stringify(summary(verdict), null, 2));
  if (!verdict.allow) {
    io.err(`deny: ${verdict.reason}: ${verdict.detail}`);
    return 1;
  }
  if (!payload) io.err('note: the payload was not checked against the signed payloadHash (--payload FILE)');
  return 0;
}
