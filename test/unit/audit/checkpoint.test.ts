import { describe, expect, it } from 'vitest';
import { checkpointMessage, checkpointSignatureValid, signCheckpoint } from '../../../src/audit/checkpoint.js';
import { generateKeyPair, signerFromPrivateKey } from '../../../src/signer/soft-key.js';
import type { KeyType, KeyUri } from '../../../src/types.js';

const head = { seq: 42, hash: 'ab'.repeat(32) };
const time = new Date('2025-03-01T12:00:00.000Z');

describe('audit checkpoints', () => {
  it('the signed bytes are a labelled, fixed layout (never a DER SEQUENCE)', () => {
    const m = checkpointMessage(head.seq, head.hash, time);
    expect(m.subarray(0, 29).toString('ascii')).toBe('agent-ca audit checkpoint v1\u0000');
    expect(m[0]).not.toBe(0x30);
    expect(m.readBigUInt64BE(29)).toBe(42n);
    expect(m.subarray(37, 69).toString('hex')).toBe(head.hash);
    expect(m.readBigInt64BE(69)).toBe(BigInt(time.getTime()));
    expect(m.length).toBe(77);
  });

  for (const keyType of ['p256', 'ed25519', 'rsa2048'] as KeyType[]) {
    it(`signs and verifies with ${keyType}, and rejects any change or another key`, async () => {
      const signer = signerFromPrivateKey(generateKeyPair(keyType).privateKey, `softkey:audit-${keyType}` as KeyUri);
      const other = signerFromPrivateKey(generateKeyPair(keyType).privateKey, 'softkey:other' as KeyUri);
      const cp = await signCheckpoint(signer, head, time);
      expect(cp).toMatchObject({ seq: 42, hash: head.hash, time, algorithm: signer.algorithm, keyUri: signer.keyUri });
      expect(checkpointSignatureValid(cp, signer.publicKeyInfo)).toBe(true);
      expect(checkpointSignatureValid(cp, other.publicKeyInfo)).toBe(false);
      expect(checkpointSignatureValid({ ...cp, seq: 43 }, signer.publicKeyInfo)).toBe(false);
      expect(checkpointSignatureValid({ ...cp, hash: 'cd'.repeat(32) }, signer.publicKeyInfo)).toBe(false);
      expect(checkpointSignatureValid({ ...cp, time: new Date(time.getTime() + 1) }, signer.publicKeyInfo)).toBe(false);
      expect(checkpointSignatureValid({ ...cp, hash: 'not hex' }, signer.publicKeyInfo)).toBe(false);
    });
  }
});
