/**
 * agent-ca store grant | store migrate: operating the PostgreSQL store (docs/storage-postgres.md).
 */
import { withProgress } from '../progress.js';
import { AgentCaError } from '../../errors.js';
import { copyStore } from '../../store/copy-store.js';
import { openStore, storeKindOf } from '../../store/open-store.js';
import { grantStatements } from '../../store/postgres/grants.js';
import { openPostgresStore } from '../../store/postgres/postgres-store.js';
import { parse, required, UsageError, type Io } from '../args.js';

export const storeUsage =
  'agent-ca store grant --role ROLE [--apply] [--store postgres://…] | agent-ca store migrate --from DATA_DIR --to postgres://…';

export async function storeCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'grant') {
    const { values: v } = parse(rest, {
      role: { type: 'string' },
      apply: { type: 'boolean' },
      store: { type: 'string' },
    });
    const role = required(v.role, '--role');
    const url = v.store ?? io.env.AGENT_CA_STORE;
    if (url === undefined || storeKindOf(url) !== 'postgres')
      throw new UsageError('store grant needs a PostgreSQL store: --store postgres://… or AGENT_CA_STORE');
    // Opening migrates, so the tables the GRANTs name exist.
    const store = await openPostgresStore({ url, poolSize: 1 });
    try {
      const sql = grantStatements(store.schema, role);
      if (!v.apply) {
        for (const s of sql) io.out(`${s};`);
        return 0;
      }
      const exists = await store.query('select 1 from pg_roles where rolname = $1', [role]);
      if (exists.length === 0) {
        throw new AgentCaError(
          'INPUT_INVALID',
          `role ${role} does not exist: create it first (create role ${role} login password '…')`,
          { role },
        );
      }
      for (const s of sql) await store.query(s);
      io.out(`granted ${role} INSERT/SELECT on the audit log of schema ${store.schema} (${sql.length} statements)`);
      return 0;
    } finally {
      await store.close();
    }
  }
  if (sub === 'migrate') {
    const { values: v } = parse(rest, { from: { type: 'string' }, to: { type: 'string' } });
    const from = required(v.from, '--from');
    const to = required(v.to, '--to');
    if (storeKindOf(to) !== 'postgres')
      throw new UsageError('--to must be a PostgreSQL URL (postgres://user@host:5432/db)');
    const source = await openStore({ dataDir: from, create: false });
    try {
      const target = await openPostgresStore({ url: to });
      try {
        const counts = await withProgress(io, `copying ${from} to PostgreSQL`, () => copyStore(source, target));
        io.out(
          `copied ${from} to ${target.target.display}: ${counts.certificates} certificates, ${counts.revocations} revocations (${counts.changes} status changes), ` +
            `${counts.ocspResponses} OCSP responses, ${counts.crls} CRLs, ${counts.auditEntries} audit entries, ${counts.checkpoints} checkpoints, ${counts.meta} settings (webhooks, tokens, CA state)`,
        );
        io.err(
          `run \`agent-ca audit verify --store ${target.target.display} --data ${from}\` to check the copied chain; keys stay in ${from}/keys (soft keys) or your KMS/HSM`,
        );
        return 0;
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  }
  throw new UsageError(`usage: ${storeUsage}`);
}
