/**
 * Copies a whole CA from any Store into an empty PostgreSQL schema (`agent-ca store migrate`):
 * certificates, revocations with their status-change journal (same seqs, so delta CRL bases
 * stay valid), OCSP responses, CRLs with each issuer's CRLNumber counter, the audit chain and
 * its signed checkpoints byte for byte (so `audit verify` passes on the copy), and every meta
 * value (CA state, admin token hashes, webhook endpoints and outbox, risk state).
 *
 * Records are written as they are, not replayed through commit(): replaying would renumber
 * the journal and re-link the audit chain. The copy is ONE transaction under the target's
 * commit lock, so a failure leaves the target empty and no server can write in between.
 */
import type pg from 'pg';
import { AgentCaError } from '../errors.js';
import type { IssuerId } from '../types.js';
import type { Store } from './ports.js';
import { advisoryKey, storeError } from './postgres/connection.js';
import type { PostgresStore } from './postgres/postgres-store.js';
import * as w from './postgres/writer.js';

export interface CopyCounts {
  certificates: number;
  revocations: number;
  changes: number;
  ocspResponses: number;
  crls: number;
  auditEntries: number;
  checkpoints: number;
  meta: number;
}

/** Rows per INSERT. */
const CHUNK = 1000;

async function copyIn<T>(src: AsyncIterable<T>, write: (rows: T[]) => Promise<void>): Promise<number> {
  let buf: T[] = [];
  let n = 0;
  for await (const r of src) {
    buf.push(r);
    if (buf.length >= CHUNK) {
      await write(buf);
      n += buf.length;
      buf = [];
    }
  }
  if (buf.length > 0) await write(buf);
  return n + buf.length;
}

export async function copyStore(source: Store, target: PostgresStore): Promise<CopyCounts> {
  let client: pg.PoolClient;
  try {
    client = await target.db.connect();
  } catch (e) {
    throw storeError(e, 'connect');
  }
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [advisoryKey(target.schema, 'commit')]);
    const used = await client.query<{ n: string }>(
      `select (select count(*) from certificates) + (select count(*) from audit_log) + (select count(*) from meta) + (select count(*) from status_changes) as n`,
    );
    if (Number(used.rows[0]?.n) > 0) {
      throw new AgentCaError(
        'STORE_MIGRATE_TARGET_NOT_EMPTY',
        `schema ${target.schema} of ${target.target.display} already holds a CA: migrate copies into an empty schema only`,
        {
          schema: target.schema,
        },
      );
    }
    const counts: CopyCounts = {
      certificates: 0,
      revocations: 0,
      changes: 0,
      ocspResponses: 0,
      crls: 0,
      auditEntries: 0,
      checkpoints: 0,
      meta: 0,
    };
    const issuers = new Set<IssuerId>();
    counts.certificates = await copyIn(source.certificates.iterate(), async (rows) => {
      for (const r of rows) issuers.add(r.issuerId);
      await w.insertCertificates(client, rows);
    });
    for (const issuerId of [...issuers].sort()) {
      counts.revocations += await copyIn(source.revocations.iterate({ issuerId }), (rows) =>
        w.upsertRevocations(client, rows),
      );
      counts.changes += await copyIn(source.revocations.changesSince(issuerId, 0), (rows) =>
        w.insertChanges(client, rows),
      );
      counts.ocspResponses += await copyIn(source.ocspResponses.iterate(issuerId), (rows) =>
        w.upsertOcsp(client, rows),
      );
      counts.crls += await copyIn(source.crls.iterate(issuerId), (rows) => w.upsertCrls(client, rows));
      const full = await source.crls.latest(issuerId, 'full');
      const delta = await source.crls.latest(issuerId, 'delta');
      const counter = await source.crls.counter(issuerId);
      if (counter > 0n || full || delta) {
        await w.raiseCrlState(client, issuerId, {
          counter,
          ...(full ? { latestFull: full.number } : {}),
          ...(delta ? { latestDelta: delta.number } : {}),
        });
      }
    }
    counts.auditEntries = await copyIn(source.audit.iterate(), (rows) => w.insertAudit(client, rows));
    counts.checkpoints = await copyIn(source.audit.iterateCheckpoints(), (rows) => w.insertCheckpoints(client, rows));
    counts.meta = await copyIn(source.meta.iterate(), (rows) => w.upsertMeta(client, rows));
    await client.query('update store_state set change_seq = $1, cert_count = $2', [
      await source.revocations.lastChangeSeq(),
      counts.certificates,
    ]);
    await client.query('commit');
    return counts;
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw storeError(e, 'copy');
  } finally {
    client.release();
  }
}
