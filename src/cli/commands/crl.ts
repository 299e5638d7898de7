/** crl: publish a fresh full or delta CRL and write it (PEM if the file ends in .pem). */
import { writeFileSync } from 'node:fs';
import { toPem } from '../../asn1/pem.js';
import { CA_NAMES } from '../../authority/ca-state.js';
import { CrlPublisher, crlIssuerFromCa } from '../../crl/publisher.js';
import { AgentCaError } from '../../errors.js';
import type { IssuerId } from '../../types.js';
import { parse, required, result, UsageError, type Io } from '../args.js';
import { withAuthority } from '../open.js';
import { serverOf } from '../remote.js';
import { withProgress } from '../progress.js';
import { crlSyncCommand, crlSyncUsage } from './crl-sync.js';

export const crlUsage = `agent-ca crl [--delta] [--issuer root|intermediate] --out FILE [--json] [--server URL]   (PEM if FILE ends in .pem)\n  ${crlSyncUsage}`;

export async function crlCommand(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'sync') return crlSyncCommand(argv.slice(1), io);
  const { values: v } = parse(argv, {
    delta: { type: 'boolean' },
    issuer: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    data: { type: 'string' },
    server: { type: 'string' },
  });
  const out = required(v.out, '--out');
  const issuer = v.issuer ?? 'intermediate';
  if (!CA_NAMES.includes(issuer as never)) throw new UsageError('--issuer must be root or intermediate');
  const write = (der: Buffer, number: bigint) => {
    writeFileSync(out, out.endsWith('.pem') ? toPem(der, 'X509 CRL') : der);
    result(
      io,
      v.json,
      {
        issuer,
        kind: v.delta ? 'delta' : 'full',
        crlNumber: number.toString(),
        out,
        format: out.endsWith('.pem') ? 'pem' : 'der',
      },
      [`wrote the ${v.delta ? 'delta' : 'full'} CRL #${number} of the ${issuer} CA to ${out}`],
    );
  };
  const server = serverOf(v, io);
  if (server) {
    // The server publishes on its own schedule (and after every revocation): fetch its latest.
    const res = await fetch(
      new URL(`crl/${issuer}${v.delta ? '-delta' : ''}.crl`, server.endsWith('/') ? server : `${server}/`),
    ).catch((e: Error) => {
      throw new AgentCaError('STORE_UNAVAILABLE', `cannot reach ${server}: ${e.message}`);
    });
    if (!res.ok) throw new AgentCaError('STORE_UNAVAILABLE', `${server} answered ${res.status}`);
    const der = Buffer.from(await res.arrayBuffer());
    write(der, BigInt(res.headers.get('etag')?.match(/-(\d+)"$/)?.[1] ?? '0'));
    return 0;
  }
  return withAuthority(io, v.data, async (a) => {
    const publisher = new CrlPublisher({
      store: a.store,
      clock: a.clock,
      issuers: Object.fromEntries(CA_NAMES.map((n) => [n, crlIssuerFromCa(a.ca(n))])),
    });
    const id = issuer as IssuerId;
    if (v.delta && !(await publisher.latest(id, 'full'))) await publisher.publishFull(id);
    const record = await withProgress(io, `publishing the ${v.delta ? 'delta' : 'full'} CRL of the ${issuer} CA`, () =>
      v.delta ? publisher.publishDelta(id) : publisher.publishFull(id),
    );
    write(record.der, record.number);
    return 0;
  });
}
