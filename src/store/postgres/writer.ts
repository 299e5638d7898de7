/**
 * Planned mutations -> SQL, inside the commit's transaction. Mutations are folded to their
 * final state per key (a hold then a release of one serial in one batch leaves no row) and
 * written with one multi-row statement per table (unnest of typed arrays), so a 2,000-op batch
 * costs a handful of round trips. The same insert helpers load a copied store (store migrate).
 */
import type pg from 'pg';
import { AgentCaError } from '../../errors.js';
import type { CommitPlan } from '../commit-planner.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  CertificateRecord,
  CrlRecord,
  OcspResponseRecord,
  RevocationRecord,
  StatusChange,
} from '../ports.js';

type Q = Pick<pg.PoolClient, 'query'>;

const col = <T, V>(rows: readonly T[], f: (r: T) => V): (V | null)[] => rows.map((r) => (f(r) ?? null) as V | null);

export async function insertCertificates(q: Q, rows: readonly CertificateRecord[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `insert into certificates (serial, issuer_id, der, profile, subject, agent_id, tenant, not_before, not_after, issued_at, key_uri, renewal_of, is_ca)
     select * from unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[], $13::boolean[])`,
    [
      col(rows, (r) => r.serial),
      col(rows, (r) => r.issuerId),
      col(rows, (r) => r.der),
      col(rows, (r) => r.profile),
      col(rows, (r) => r.subject),
      col(rows, (r) => r.agentId),
      col(rows, (r) => r.tenant),
      col(rows, (r) => r.notBefore),
      col(rows, (r) => r.notAfter),
      col(rows, (r) => r.issuedAt),
      col(rows, (r) => r.keyUri),
      col(rows, (r) => r.renewalOf),
      col(rows, (r) => r.isCa),
    ],
  );
}

export async function upsertRevocations(q: Q, rows: readonly RevocationRecord[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `insert into revocations (serial, issuer_id, revoked_at, reason, invalidity_date, actor, change_seq)
     select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::text[], $7::bigint[])
     on conflict (serial) do update set issuer_id = excluded.issuer_id, revoked_at = excluded.revoked_at, reason = excluded.reason,
       invalidity_date = excluded.invalidity_date, actor = excluded.actor, change_seq = excluded.change_seq`,
    [
      col(rows, (r) => r.serial),
      col(rows, (r) => r.issuerId),
      col(rows, (r) => r.revokedAt),
      col(rows, (r) => r.reason),
      col(rows, (r) => r.invalidityDate),
      col(rows, (r) => r.actor),
      col(rows, (r) => r.changeSeq),
    ],
  );
}

export async function insertChanges(q: Q, rows: readonly StatusChange[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `insert into status_changes (seq, serial, issuer_id, kind, at, reason)
     select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])`,
    [
      col(rows, (r) => r.seq),
      col(rows, (r) => r.serial),
      col(rows, (r) => r.issuerId),
      col(rows, (r) => r.kind),
      col(rows, (r) => r.at),
      col(rows, (r) => r.reason),
    ],
  );
}

export async function upsertOcsp(q: Q, rows: readonly OcspResponseRecord[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `insert into ocsp_responses (issuer_id, serial, hash_algorithm, der, this_update, next_update)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[], $6::timestamptz[])
     on conflict (issuer_id, serial, hash_algorithm) do update set der = excluded.der, this_update = excluded.this_update, next_update = excluded.next_update`,
    [
      col(rows, (r) => r.issuerId),
      col(rows, (r) => r.serial),
      col(rows, (r) => r.hashAlgorithm),
      col(rows, (r) => r.der),
      col(rows, (r) => r.thisUpdate),
      col(rows, (r) => r.nextUpdate),
    ],
  );
}

/**
 * One statement per CRL (a commit holds one or two): the DER goes as a top-level bytea
 * parameter, which the driver sends in binary. Inside an array parameter it would be sent as
 * hex text (twice the bytes, hex-encoded here and decoded by the server: ~1 s for the 47 MiB
 * of a 1,000,000-entry CRL on the development machine).
 */
export async function upsertCrls(q: Q, rows: readonly CrlRecord[]): Promise<void> {
  for (const r of rows) {
    await q.query(
      `insert into crls (issuer_id, number, kind, base_number, der, this_update, next_update)
       values ($1, $2::numeric, $3, $4::numeric, $5, $6, $7)
       on conflict (issuer_id, number) do update set kind = excluded.kind, base_number = excluded.base_number, der = excluded.der,
         this_update = excluded.this_update, next_update = excluded.next_update`,
      [r.issuerId, r.number.toString(), r.kind, r.baseNumber?.toString() ?? null, r.der, r.thisUpdate, r.nextUpdate],
    );
  }
}

/** Raises (never lowers) the counter and moves the latest pointers of one issuer. */
export async function raiseCrlState(
  q: Q,
  issuerId: string,
  s: { counter?: bigint; latestFull?: bigint; latestDelta?: bigint },
): Promise<void> {
  await q.query(
    `insert into crl_state (issuer_id, counter, latest_full, latest_delta) values ($1, coalesce($2::numeric, 0), $3::numeric, $4::numeric)
     on conflict (issuer_id) do update set
       counter = greatest(crl_state.counter, coalesce($2::numeric, 0)),
       latest_full = coalesce($3::numeric, crl_state.latest_full),
       latest_delta = coalesce($4::numeric, crl_state.latest_delta)`,
    [issuerId, s.counter?.toString() ?? null, s.latestFull?.toString() ?? null, s.latestDelta?.toString() ?? null],
  );
}

export async function insertAudit(q: Q, rows: readonly AuditEntry[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `insert into audit_log (seq, time, actor, action, subject, details, prev_hash, hash)
     select * from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
    [
      col(rows, (r) => r.seq),
      col(rows, (r) => r.time),
      col(rows, (r) => r.actor),
      col(rows, (r) => r.action),
      col(rows, (r) => r.subject),
      col(rows, (r) => JSON.stringify(r.details)),
      col(rows, (r) => r.prevHash),
      col(rows, (r) => r.hash),
    ],
  );
}

/**
 * Checkpoints are WORM too: a second checkpoint of a seq that already has one (a periodic
 * checkpoint of an unchanged head, or a peer's) keeps the first, which vouches for the same
 * hash; one that names a different hash for that seq is a fork and refuses the commit.
 */
export async function insertCheckpoints(q: Q, rows: readonly AuditCheckpoint[]): Promise<void> {
  if (rows.length === 0) return;
  const seqs = col(rows, (r) => r.seq);
  const hashes = col(rows, (r) => r.hash);
  await q.query(
    `insert into audit_checkpoints (seq, hash, time, signature, algorithm, key_uri)
     select * from unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::bytea[], $5::text[], $6::text[]) on conflict (seq) do nothing`,
    [
      seqs,
      hashes,
      col(rows, (r) => r.time),
      col(rows, (r) => r.signature),
      col(rows, (r) => r.algorithm),
      col(rows, (r) => r.keyUri),
    ],
  );
  const forks = await q.query(
    `select c.seq from audit_checkpoints c join unnest($1::bigint[], $2::text[]) as k(s, h) on c.seq = k.s where c.hash <> k.h`,
    [seqs, hashes],
  );
  if (forks.rows.length > 0) {
    const seq = Number((forks.rows[0] as { seq: string }).seq);
    throw new AgentCaError(
      'AUDIT_CHAIN_BROKEN',
      `a checkpoint of audit entry ${seq} with a different hash is already stored`,
      { seq },
    );
  }
}

export async function upsertMeta(q: Q, rows: readonly { key: string; value: unknown }[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `insert into meta (key, value) select * from unnest($1::text[], $2::text[]) on conflict (key) do update set value = excluded.value`,
    [rows.map((r) => r.key), rows.map((r) => JSON.stringify(r.value))],
  );
}

/** Writes a plan (already checked by planCommit under the commit lock). */
export async function writePlan(q: Q, plan: CommitPlan): Promise<void> {
  const certs: CertificateRecord[] = [];
  const revocations = new Map<string, RevocationRecord | null>();
  const changes: StatusChange[] = [];
  const ocsp = new Map<string, OcspResponseRecord>();
  const crls = new Map<string, CrlRecord>();
  const crlState = new Map<string, { counter?: bigint; latestFull?: bigint; latestDelta?: bigint }>();
  const audit: AuditEntry[] = [];
  const checkpoints: AuditCheckpoint[] = [];
  const meta = new Map<string, { value: unknown } | null>();
  for (const m of plan.mutations) {
    switch (m.kind) {
      case 'putCertificate':
        certs.push(m.record);
        break;
      case 'putRevocation':
        revocations.set(m.record.serial, m.record);
        break;
      case 'deleteRevocation':
        revocations.set(m.previous.serial, null);
        break;
      case 'putStatusChange':
        changes.push(m.change);
        break;
      case 'putOcspResponse':
        ocsp.set(`${m.record.issuerId}\u0000${m.record.serial}\u0000${m.record.hashAlgorithm}`, m.record);
        break;
      case 'putCrl': {
        crls.set(`${m.record.issuerId}\u0000${m.record.number}`, m.record);
        const st = crlState.get(m.record.issuerId) ?? {};
        if (m.latest) st[m.record.kind === 'full' ? 'latestFull' : 'latestDelta'] = m.record.number;
        if (m.counter !== undefined) st.counter = m.counter;
        crlState.set(m.record.issuerId, st);
        break;
      }
      case 'appendAudit':
        audit.push(m.entry);
        break;
      case 'putAuditCheckpoint':
        checkpoints.push(m.checkpoint);
        break;
      case 'putMeta':
        meta.set(m.key, { value: m.value });
        break;
      case 'deleteMeta':
        meta.set(m.key, null);
        break;
    }
  }
  await insertCertificates(q, certs);
  const gone = [...revocations].filter(([, r]) => r === null).map(([serial]) => serial);
  if (gone.length > 0) await q.query('delete from revocations where serial = any($1::text[])', [gone]);
  await upsertRevocations(
    q,
    [...revocations.values()].filter((r): r is RevocationRecord => r !== null),
  );
  await insertChanges(q, changes);
  await upsertOcsp(q, [...ocsp.values()]);
  await upsertCrls(q, [...crls.values()]);
  for (const [issuerId, st] of crlState) await raiseCrlState(q, issuerId, st);
  await insertAudit(q, audit);
  await insertCheckpoints(q, checkpoints);
  const metaGone = [...meta].filter(([, v]) => v === null).map(([k]) => k);
  if (metaGone.length > 0) await q.query('delete from meta where key = any($1::text[])', [metaGone]);
  await upsertMeta(
    q,
    [...meta].flatMap(([key, v]) => (v === null ? [] : [{ key, value: v.value }])),
  );
  if (changes.length > 0 || plan.certificatesAdded > 0) {
    await q.query('update store_state set change_seq = $1, cert_count = cert_count + $2', [
      plan.lastChangeSeq,
      plan.certificatesAdded,
    ]);
  }
}
