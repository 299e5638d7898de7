/** Store fixtures for the CRL tests: certificates and status changes written through commit(). */
import type { RevocationReason, Store } from '../../../src/store/ports.js';
import type { IssuerId, Serial } from '../../../src/types.js';

export const INT = 'intermediate' as IssuerId;
export const ROOT = 'root' as IssuerId;

export async function addCert(store: Store, serial: string, notAfter: Date, issuerId: IssuerId = INT): Promise<void> {
  const notBefore = new Date(notAfter.getTime() - 30 * 86_400_000);
  await store.commit([
    {
      op: 'putCertificate',
      record: {
        serial: serial as Serial,
        issuerId,
        der: Buffer.from([0x30, 0x00]),
        profile: 'agent',
        subject: `CN=${serial}`,
        notBefore,
        notAfter,
        issuedAt: notBefore,
        isCa: false,
      },
    },
  ]);
}

export async function revoke(
  store: Store,
  serial: string,
  reason: RevocationReason,
  revokedAt: Date,
  opts: { invalidityDate?: Date; at?: Date; issuerId?: IssuerId } = {},
): Promise<number> {
  const res = await store.commit([
    {
      op: 'putRevocation',
      record: {
        serial: serial as Serial,
        issuerId: opts.issuerId ?? INT,
        revokedAt,
        reason,
        actor: 'test',
        ...(opts.invalidityDate ? { invalidityDate: opts.invalidityDate } : {}),
      },
      ...(opts.at ? { at: opts.at } : {}),
    },
  ]);
  return res.changes[0]!.seq;
}

export async function release(store: Store, serial: string, at: Date, issuerId: IssuerId = INT): Promise<number> {
  const res = await store.commit([{ op: 'deleteRevocation', serial: serial as Serial, issuerId, at, actor: 'test' }]);
  return res.changes[0]!.seq;
}
