/**
 * verifyAction: what a counterparty runs before acting on an agent's signed action. The checks
 * run in this order and the first failure is the answer (README.md):
 *
 *   malformed  the envelope, header or claims cannot be read (strict shapes, claims.ts)
 *   signature  the JWS does not verify with x5c[0]'s key (RFC 7515 §5.2), or the payload
 *              presented is not the one signed (payloadHash): the bytes are not authentic
 *   claims     authentic, but it signs another action, amount or market than the one asked
 *              for (every difference in `detail`)
 *   expired    the envelope is older than maxAgeSeconds
 *   chain      x5c[0] does not lead to a caller-supplied trust anchor (chain.ts)
 *   expired    a certificate of the path is outside its validity window at `now`
 *   revoked    the status source says revoked or on hold; `status` when it cannot say
 *   scope      agentScope does not permit the action (default deny)
 *   policy     amount above maxTransactionSize / other currency, market not allowed
 *              (scope and policy: every breach is listed in `breaches`, the first is `reason`)
 *   replay     the jti was already accepted by this verifier
 *
 * Caller mistakes (no trust anchors, unreadable anchor files, a bad expected action) throw
 * AgentCaError INPUT_INVALID instead: they are not facts about the envelope.
 */
import { decodeAgentExtensions } from '../asn1/extensions/index.js';
import { decodeName, type NameSpec } from '../asn1/name.js';
import { readableAgentExtensionOids } from '../asn1/oids.js';
import { systemClock, type Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import {
  loadCertificates,
  loadPathCertificate,
  validatePath,
  type CertificateInput,
  type PathCertificate,
} from './chain.js';
import { normaliseRequest, payloadDigest, readClaims, readProtectedHeader, type ProtectedHeader } from './claims.js';
import { compareDecimal } from '../asn1/decimal-amount.js';
import { jwsVerify, parseEnvelope } from './jws.js';
import { checkScope, policyBreaches } from './policy.js';
import type { ReplayGuard } from './replay-cache.js';
import { checkStatus } from './status.js';
import type {
  ActionAmount,
  ActionClaims,
  ActionDenied,
  Breach,
  ActionEnvelope,
  ActionVerdict,
  DenyReason,
  StatusSource,
} from './types.js';

export interface VerifyActionOptions {
  /** The action the counterparty is about to perform; the envelope must sign exactly this. */
  action: string;
  /** When given, the envelope must sign the same amount (decimal-equal, same currency). */
  amount?: ActionAmount;
  market?: string;
  /** The business payload; when given its SHA-256 must equal the signed payloadHash. */
  payload?: Uint8Array | string;
  /** Root certificates (PEM, PEM bundle or DER). Only these end a valid path. */
  trustAnchors: CertificateInput | readonly CertificateInput[];
  /** Extra intermediates beside those in x5c. */
  intermediates?: CertificateInput | readonly CertificateInput[];
  status: StatusSource;
  now?: Date;
  clock?: Clock;
  /** Envelopes older than this are refused as expired. Default 300. */
  maxAgeSeconds?: number;
  /** Tolerated clock difference with the signer. Default 60. */
  clockSkewSeconds?: number;
  /** Refuse a jti seen before (MemoryReplayCache or a shared store). */
  replay?: ReplayGuard;
  /** Operator OID arc of the agent extensions, when not ours. */
  oidArc?: string;
}

interface Known {
  serial?: string;
  agentId?: string;
}

function deny(reason: DenyReason, detail: string, known: Known = {}, breaches?: Breach[]): ActionDenied {
  return {
    allow: false,
    reason,
    detail,
    ...(breaches ? { breaches } : {}),
    ...(known.serial ? { serial: known.serial } : {}),
    ...(known.agentId ? { agentId: known.agentId } : {}),
  };
}

/** Every way the signed claims differ from what the counterparty is asked to do; empty when they agree. */
function claimMismatches(
  claims: ActionClaims,
  want: { action: string; amount?: ActionAmount; market?: string },
): string[] {
  const out: string[] = [];
  if (claims.action !== want.action) out.push(`the envelope signs ${claims.action}, not ${want.action}`);
  if (want.amount) {
    const got = claims.amount;
    if (!got || got.currency !== want.amount.currency || compareDecimal(got.value, want.amount.value) !== 0) {
      out.push(
        `the envelope signs amount ${got ? `${got.value} ${got.currency}` : 'none'}, not ${want.amount.value} ${want.amount.currency}`,
      );
    }
  }
  if (want.market !== undefined && claims.market !== want.market)
    out.push(`the envelope signs market ${claims.market ?? 'none'}, not ${want.market}`);
  return out;
}

/** x5c as DER, each checked to be a certificate (the leaf parsed once, here). */
function decodeChain(h: ProtectedHeader): { leaf: PathCertificate; rest: Buffer[] } | string {
  const ders = h.x5c.map((c) => Buffer.from(c, 'base64'));
  try {
    const leaf = loadPathCertificate(ders[0]!, 'x5c[0]', false);
    for (const [i, d] of ders.entries()) if (i > 0) loadPathCertificate(d, `x5c[${i}]`);
    return { leaf, rest: ders.slice(1) };
  } catch (e) {
    return (e as Error).message;
  }
}

export async function verifyAction(
  input: ActionEnvelope | string | Uint8Array,
  opts: VerifyActionOptions,
): Promise<ActionVerdict> {
  const want = normaliseRequest(opts);
  const anchors = loadCertificates(opts.trustAnchors);
  if (anchors.length === 0)
    throw new AgentCaError('INPUT_INVALID', 'verifyAction needs at least one trust anchor (the root CA certificate)');
  const extra = loadCertificates(opts.intermediates);
  const now = opts.now ?? (opts.clock ?? systemClock).now();
  const skewMs = (opts.clockSkewSeconds ?? 60) * 1000;
  const maxAgeMs = (opts.maxAgeSeconds ?? 300) * 1000;

  let env: ActionEnvelope;
  let header: ProtectedHeader;
  let claims: ActionClaims;
  try {
    env = parseEnvelope(input);
    header = readProtectedHeader(env.protected);
    claims = readClaims(env.payload);
  } catch (e) {
    return deny('malformed', (e as Error).message);
  }
  const chain = decodeChain(header);
  if (typeof chain === 'string') return deny('malformed', chain, { serial: claims.serial });
  const leafDer = chain.leaf.parsed.der;
  const leaf = chain.leaf.parsed;
  let subject: NameSpec;
  try {
    subject = decodeName(leaf.subject).spec;
  } catch (e) {
    return deny('malformed', `x5c[0] subject: ${(e as Error).message}`, { serial: leaf.serial });
  }
  const known: Known = { serial: leaf.serial, ...(subject.commonName ? { agentId: subject.commonName } : {}) };
  if (claims.serial !== leaf.serial)
    return deny('malformed', `claims name serial ${claims.serial} but x5c[0] is ${leaf.serial}`, known);

  const sig = await jwsVerify(env, header.alg, chain.leaf.x509.publicKey);
  if (!sig.ok) return deny('signature', sig.detail, known);
  // The payload first: bytes that are not the signed ones make every claim moot.
  if (opts.payload !== undefined && payloadDigest(opts.payload) !== claims.payloadHash.value)
    return deny('signature', 'the payload does not match the signed payloadHash', known);
  const mismatches = claimMismatches(claims, want);
  if (mismatches.length) return deny('claims', mismatches.join('; '), known);

  const iatMs = claims.iat * 1000;
  if (iatMs > now.getTime() + skewMs)
    return deny('malformed', `issued at ${new Date(iatMs).toISOString()}, in the future`, known);
  if (now.getTime() - iatMs > maxAgeMs)
    return deny(
      'expired',
      `the envelope was signed at ${new Date(iatMs).toISOString()}, more than ${maxAgeMs / 1000} s ago`,
      known,
    );

  const path = validatePath(chain.leaf, [...chain.rest, ...extra], anchors, now);
  if (!path.ok) return deny(path.reason, path.detail, known);
  // §6.1.3 (a)(2) at signing time as well: a signature made outside the window proves nothing.
  if (iatMs + skewMs < leaf.notBefore.getTime() || iatMs - skewMs > leaf.notAfter.getTime()) {
    return deny('expired', 'the envelope was signed outside the agent certificate validity period', known);
  }

  const issuerDer = path.path[1]!.parsed.der;
  const st = await checkStatus(opts.status, { serial: leaf.serial, certificate: leafDer, issuer: issuerDer, now });
  if (!st.ok) return deny('status', st.detail, known);
  const s = st.status;
  if (s.state === 'revoked' || s.state === 'held') {
    const when = s.revokedAt ? ` at ${s.revokedAt.toISOString()}` : '';
    return deny(
      'revoked',
      `the agent certificate is ${s.state === 'held' ? 'on hold' : 'revoked'}${when}${s.reason && s.state === 'revoked' ? ` (${s.reason})` : ''} [${st.source}]`,
      known,
    );
  }
  if (s.state === 'unknown')
    return deny('status', `the status source does not know certificate ${leaf.serial} [${st.source}]`, known);

  // Decoded only now: an envelope refused earlier never costs the extension codecs.
  const agent = decodeAgentExtensions(leaf.extensions, readableAgentExtensionOids(opts.oidArc));
  const scope = checkScope(agent, claims.action);
  const breaches: Breach[] = [
    ...(scope.ok ? [] : [{ reason: scope.reason, detail: scope.detail }]),
    ...policyBreaches(agent, claims.amount, claims.market),
  ];
  if (breaches.length) return deny(breaches[0]!.reason, breaches.map((b) => b.detail).join('; '), known, breaches);

  if (opts.replay) {
    const until = new Date(iatMs + maxAgeMs + skewMs);
    if (!(await opts.replay.claim(`${leaf.serial}:${claims.jti}`, until, now)))
      return deny('replay', `envelope ${claims.jti} was already used`, known);
  }

  return {
    allow: true,
    serial: leaf.serial,
    agentId: known.agentId ?? '',
    ...(subject.organization ? { operator: subject.organization } : {}),
    action: claims.action,
    ...(claims.amount ? { amount: claims.amount } : {}),
    ...(claims.market !== undefined ? { market: claims.market } : {}),
    issuedAt: new Date(iatMs),
    jti: claims.jti,
    payloadHash: claims.payloadHash.value,
    payloadChecked: opts.payload !== undefined,
    statusSource: st.source,
    certificate: leafDer,
  };
}
