/**
 * Signed checkpoints: a Signer signs (seq, hash, time) of an audit entry, so rewriting the
 * chain consistently (recomputing every later hash) is still caught: the rewritten entry at a
 * checkpoint no longer has the hash the key signed. The signed bytes start with a fixed
 * ASCII label, so they can never be mistaken for a DER TBSCertificate or TBSCertList (which
 * start with 0x30) when the checkpoint key is also a CA key.
 *
 *   "agent-ca audit checkpoint v1" 0x00 || uint64be(seq) || SHA-256 (32 bytes) || uint64be(time ms)
 */
import { verify as cryptoVerify } from 'node:crypto';
import { AgentCaError } from '../errors.js';
import { algorithmInfo } from '../signer/algorithms.js';
import { publicKeyFromSpki } from '../signer/public-key.js';
import type { Signer } from '../signer/signer.js';
import type { AuditCheckpoint } from '../store/ports.js';
import type { KeyUri, SignatureAlgorithm } from '../types.js';

const LABEL = Buffer.from('agent-ca audit checkpoint v1\u0000', 'ascii');
const HEX64 = /^[0-9a-f]{64}$/;

export function checkpointMessage(seq: number, hash: string, time: Date): Buffer {
  if (!HEX64.test(hash)) throw new AgentCaError('INPUT_INVALID', `checkpoint hash must be 64 hex digits`);
  const nums = Buffer.alloc(8);
  nums.writeBigUInt64BE(BigInt(seq));
  const t = Buffer.alloc(8);
  t.writeBigInt64BE(BigInt(time.getTime()));
  return Buffer.concat([LABEL, nums, Buffer.from(hash, 'hex'), t]);
}

export async function signCheckpoint(
  signer: Signer,
  head: { seq: number; hash: string },
  time: Date,
): Promise<AuditCheckpoint> {
  const signature = await signer.sign(checkpointMessage(head.seq, head.hash, time));
  return { seq: head.seq, hash: head.hash, time, signature, algorithm: signer.algorithm, keyUri: signer.keyUri };
}

/** True when the checkpoint's signature verifies under the given SubjectPublicKeyInfo. */
export function checkpointSignatureValid(cp: AuditCheckpoint, publicKeyInfo: Uint8Array): boolean {
  try {
    const key = publicKeyFromSpki(publicKeyInfo);
    const { digest } = algorithmInfo(cp.algorithm);
    return cryptoVerify(digest, checkpointMessage(cp.seq, cp.hash, cp.time), key, cp.signature);
  } catch {
    return false;
  }
}

/** A checkpoint as JSON, the form an outside party keeps (GET /api/v1/audit/head) and hands back to `audit verify --against`. */
export interface CheckpointJson {
  seq: number;
  hash: string;
  time: string;
  algorithm: string;
  keyUri: string;
  /** base64 */
  signature: string;
}

export function checkpointToJson(cp: AuditCheckpoint): CheckpointJson {
  return {
    seq: cp.seq,
    hash: cp.hash,
    time: cp.time.toISOString(),
    algorithm: cp.algorithm,
    keyUri: cp.keyUri,
    signature: cp.signature.toString('base64'),
  };
}

/** Reads a kept checkpoint: the CheckpointJson itself, or a whole audit/head response carrying one. */
export function checkpointFromJson(v: unknown): AuditCheckpoint {
  const o = (typeof v === 'object' && v !== null && 'checkpoint' in v ? v.checkpoint : v) as Record<
    string,
    unknown
  > | null;
  const bad = (why: string): never => {
    throw new AgentCaError('INPUT_INVALID', `not an audit checkpoint: ${why}`);
  };
  if (typeof o !== 'object' || o === null) return bad('expected a JSON object');
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) bad('seq must be a positive integer');
  if (typeof o.hash !== 'string' || !HEX64.test(o.hash)) bad('hash must be 64 lowercase hex digits');
  const time = typeof o.time === 'string' ? new Date(o.time) : new Date(NaN);
  if (Number.isNaN(time.getTime())) bad('time must be an ISO 8601 time');
  if (typeof o.signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(o.signature)) bad('signature must be base64');
  if (typeof o.algorithm !== 'string' || typeof o.keyUri !== 'string') bad('algorithm and keyUri are required');
  return {
    seq: o.seq as number,
    hash: o.hash as string,
    time,
    signature: Buffer.from(o.signature as string, 'base64'),
    algorithm: o.algorithm as SignatureAlgorithm,
    keyUri: o.keyUri as KeyUri,
  };
}
