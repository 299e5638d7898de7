/**
 * Serving from a PostgreSQL store shared with other processes (any host): one CRL-publishing
 * leader among them (advisory lock), and LISTEN on the store's change notices so that a
 * revocation committed by a peer drops this process's cached OCSP answers for that serial (and,
 * on the leader, schedules the delta CRL), and a CRL the leader stored replaces the one this
 * process serves (docs/storage-postgres.md). On LevelDB there are no peers: both are absent.
 */
import type { Authority } from '../authority/authority.js';
import { CA_NAMES } from '../authority/ca-state.js';
import type { CrlService } from '../crl/service.js';
import type { OcspService } from '../ocsp/service.js';
import { ChangeListener } from '../store/postgres/change-listener.js';
import { LeaderElection } from '../store/postgres/leader.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import type { ChangeNotice } from '../store/postgres/notify.js';
import type { IssuerId, Serial } from '../types.js';
import { errorMessage, stderrLogger } from '../logger.js';

const log = (what: string) => (e: unknown) => stderrLogger.warn(what, { error: errorMessage(e) });

/** The CRL leader election, started (a lone process is leader on return); undefined on LevelDB. */
export async function startCrlLeader(authority: Authority, onLeader: () => void): Promise<LeaderElection | undefined> {
  const store = authority.store;
  if (!(store instanceof PostgresStore)) return undefined;
  const leader = new LeaderElection(store.target, 'crl', {
    onChange: (l) => l && onLeader(),
    onError: log('CRL leader election'),
  });
  await leader.start();
  return leader;
}

/** Catch up after taking over: publish a delta for every CA now (covers changes made while no one led). */
export function publishDeltasNow(crls: CrlService): void {
  for (const n of CA_NAMES) void crls.scheduler.run(n as IssuerId, 'delta');
}

export async function startChangeSync(
  authority: Authority,
  ocsp: OcspService,
  crls: CrlService,
): Promise<ChangeListener | undefined> {
  const store = authority.store;
  if (!(store instanceof PostgresStore)) return undefined;
  // OCSP answers are dropped first, for every serial of the notice at once (one lookup round),
  // before any CRL work: revocation visibility across peers is bounded by this path, and a
  // CRL refresh reads a whole CRL (docs/storage-postgres.md, "Several processes").
  const apply = async (n: ChangeNotice): Promise<void> => {
    if (n.serials === undefined) {
      ocsp.invalidateAll();
      for (const name of CA_NAMES) for (const kind of ['full', 'delta'] as const) await crls.refresh(name, kind);
      return;
    }
    const certs = await Promise.all(n.serials.map((s) => store.certificates.get(s as Serial)));
    for (const cert of certs) if (cert) ocsp.afterChange(cert);
    for (const c of n.crls ?? []) await crls.refresh(c.issuerId, c.kind);
    for (const cert of certs) if (cert) crls.afterChange(cert, await authority.statusOf(cert));
  };
  const listener = new ChangeListener(store.target, (n) => void apply(n).catch(log('applying a peer change notice')), {
    onError: log('change listener'),
  });
  await listener.start();
  return listener;
}
