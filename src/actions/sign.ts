/**
 * Signing an agent action. `createActionEnvelope` is what an agent process runs (it holds its
 * certificate chain and a Signer: KMS, HSM or soft key); `signAction` is the authority-side
 * convenience that finds the certificate by serial and opens the agent's recorded key URI
 * (agent keys created in KMS), or uses a key the caller passes.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { parseCertificate } from '../asn1/certificate-parse.js';
import type { Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import { openSigner } from '../signer/registry.js';
import type { Signer, SignerContext } from '../signer/signer.js';
import { loadPrivateKeyPem, signerFromPrivateKey } from '../signer/soft-key.js';
import type { KeyUri } from '../types.js';
import { normaliseRequest, payloadDigest, type ProtectedHeader } from './claims.js';
import { ACTION_JWS_TYPE, signJws } from './jws.js';
import type { ActionAmount, ActionClaims, ActionEnvelope } from './types.js';

export interface ActionRequest {
  /** The business payload the action is about; only its SHA-256 goes into the envelope. */
  payload: Uint8Array | string;
  action: string;
  amount?: ActionAmount;
  market?: string;
}

export interface CreateEnvelopeOptions extends ActionRequest {
  signer: Signer;
  /** Agent certificate first, then the intermediate (DER): goes into x5c (RFC 7515 §4.1.6). */
  chain: readonly Uint8Array[];
  clock: Clock;
  /** Default: 16 random octets. */
  jti?: string;
}

/** Build and sign the envelope. Throws INPUT_INVALID when the key is not the certificate's. */
export async function createActionEnvelope(opts: CreateEnvelopeOptions): Promise<ActionEnvelope> {
  const [leaf] = opts.chain;
  if (!leaf) throw new AgentCaError('INPUT_INVALID', 'the certificate chain is empty');
  const cert = parseCertificate(leaf);
  // A signature the counterparty cannot verify against x5c[0] is worse than an error here.
  if (!cert.publicKeyInfo.equals(opts.signer.publicKeyInfo)) {
    throw new AgentCaError(
      'INPUT_INVALID',
      `the signing key ${opts.signer.keyUri} is not the key of certificate ${cert.serial}`,
      { serial: cert.serial },
    );
  }
  const req = normaliseRequest(opts);
  const claims: ActionClaims = {
    action: req.action,
    ...(req.amount ? { amount: req.amount } : {}),
    ...(req.market !== undefined ? { market: req.market } : {}),
    payloadHash: { alg: 'sha-256', value: payloadDigest(opts.payload) },
    serial: cert.serial,
    iat: Math.floor(opts.clock.now().getTime() / 1000),
    jti: opts.jti ?? randomBytes(16).toString('base64url'),
  };
  const header: Omit<ProtectedHeader, 'alg'> = {
    typ: ACTION_JWS_TYPE,
    x5c: opts.chain.map((c) => Buffer.from(c).toString('base64')),
    kid: cert.serial,
  };
  return signJws(opts.signer, header, JSON.stringify(claims));
}

/** The part of Authority that signAction needs (structural, so tests and embedders can stub it). */
export interface ActionSigningAuthority {
  readonly clock: Clock;
  readonly dataDir?: string;
  show(serial: string): Promise<{
    record: { serial: string; der: Buffer; keyUri?: KeyUri; isCa: boolean; profile: string; issuerId: string };
    status: { state: string };
  }>;
  ca(name: 'root' | 'intermediate'): { certificate: { der: Buffer } };
}

export interface SignActionRequest extends ActionRequest {
  serial: string;
  /** Soft key: PKCS#8 PEM (text or bytes), a KeyObject, or any Signer. Default: the recorded keyUri. */
  key?: string | Buffer | KeyObject | Signer;
  jti?: string;
}

export interface SignActionOptions {
  /** How to open the recorded key URI; default { dataDir, env: process.env, passphrase: $AGENT_CA_PASSPHRASE }. */
  signerContext?: SignerContext;
}

function isSigner(k: unknown): k is Signer {
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof (k as Signer).sign === 'function' &&
    Buffer.isBuffer((k as Signer).publicKeyInfo)
  );
}

async function signerFor(
  a: ActionSigningAuthority,
  req: SignActionRequest,
  keyUri: KeyUri | undefined,
  opts: SignActionOptions,
): Promise<{ signer: Signer; owned: boolean }> {
  const k = req.key;
  if (isSigner(k)) return { signer: k, owned: false };
  if (typeof k === 'string' || Buffer.isBuffer(k)) {
    return {
      signer: signerFromPrivateKey(
        loadPrivateKeyPem(k, opts.signerContext?.passphrase, '--key'),
        'softkey:inline' as KeyUri,
      ),
      owned: false,
    };
  }
  if (k !== undefined) return { signer: signerFromPrivateKey(k, 'softkey:inline' as KeyUri), owned: false };
  if (!keyUri) {
    throw new AgentCaError(
      'SIGNER_KEY_NOT_FOUND',
      `certificate ${req.serial} has no recorded key URI (the agent holds its own key): pass the private key`,
      { serial: req.serial },
    );
  }
  const env = process.env;
  const ctx = opts.signerContext ?? {
    ...(a.dataDir ? { dataDir: a.dataDir } : {}),
    env,
    ...(env.AGENT_CA_PASSPHRASE ? { passphrase: env.AGENT_CA_PASSPHRASE } : {}),
  };
  return { signer: await openSigner(keyUri, ctx), owned: true };
}

/**
 * Sign an action as the agent with serial `req.serial`. Refuses CA and responder certificates,
 * and certificates that are revoked, on hold or expired: nobody would accept the result.
 */
export async function signAction(
  a: ActionSigningAuthority,
  req: SignActionRequest,
  opts: SignActionOptions = {},
): Promise<ActionEnvelope> {
  const view = await a.show(req.serial);
  const r = view.record;
  if (r.isCa || r.profile === 'ocsp-responder')
    throw new AgentCaError('INPUT_INVALID', `${r.serial} is not an agent certificate`, { serial: r.serial });
  if (view.status.state !== 'good') {
    throw new AgentCaError(
      'REVOKE_INVALID_STATE',
      `certificate ${r.serial} is ${view.status.state}: an action signed with it would be refused`,
      { serial: r.serial, state: view.status.state },
    );
  }
  const chain = r.issuerId === 'root' ? [r.der] : [r.der, a.ca('intermediate').certificate.der];
  const { signer, owned } = await signerFor(a, req, r.keyUri, opts);
  try {
    return await createActionEnvelope({
      signer,
      chain,
      clock: a.clock,
      payload: req.payload,
      action: req.action,
      ...(req.amount ? { amount: req.amount } : {}),
      ...(req.market !== undefined ? { market: req.market } : {}),
      ...(req.jti ? { jti: req.jti } : {}),
    });
  } finally {
    if (owned) await signer.close?.();
  }
}
