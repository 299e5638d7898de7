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

export async function signCheckpoint(signer: Signer, head: { seq: number; hash: string }, time: Date): Promise<AuditCheckpoint> {
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
