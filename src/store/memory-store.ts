/**
 * The in-memory Store: tests, vectors and short-lived embedders. Same contract as LevelDB (the
 * shared suite proves it) but nothing survives the process. Records are copied in and out so a
 * caller mutating a returned object cannot change stored state.
 */
import { AgentCaError } from '../errors.js';
import type { IssuerId, Serial } from '../types.js';
import { planCommit, type CommitPlan, type PlannerReader } from './commit-planner.js';
import { Mutex } from './mutex.js';
import type {
  AuditCheckpoint,
  AuditEntry,
  AuditHead,
  AuditPort,
  AuditRange,
  CertificatePort,
  CertificateRecord,
  CommitOptions,
  CommitResult,
  CrlKind,
  CrlPort,
  CrlRecord,
  MetaPort,
  OcspResponsePort,
  OcspResponseRecord,
  RevocationPort,
  RevocationRecord,
  StatusChange,
  Store,
  WriteOp,
} from './ports.js';

const cloneCert = (r: CertificateRecord): CertificateRecord => ({
  ...r,
  der: Buffer.from(r.der),
  notBefore: new Date(r.notBefore),
  notAfter: new Date(r.notAfter),
  issuedAt: new Date(r.issuedAt),
});
const cloneRevocation = (r: RevocationRecord): RevocationRecord => ({
  ...r,
  revokedAt: new Date(r.revokedAt),
  ...(r.invalidityDate ? { invalidityDate: new Date(r.invalidityDate) } : {}),
});
const cloneChange = (c: StatusChange): StatusChange => ({ ...c, at: new Date(c.at) });
const cloneOcsp = (r: OcspResponseRecord): OcspResponseRecord => ({
  ...r,
  der: Buffer.from(r.der),
  thisUpdate: new Date(r.thisUpdate),
  nextUpdate: new Date(r.nextUpdate),
});
const cloneCrl = (r: CrlRecord): CrlRecord => ({
  ...r,
  der: Buffer.from(r.der),
  thisUpdate: new Date(r.thisUpdate),
  nextUpdate: new Date(r.nextUpdate),
});
const cloneEntry = (e: AuditEntry): AuditEntry => ({
  ...e,
  time: new Date(e.time),
  details: structuredClone(e.details),
});
const cloneCheckpoint = (c: AuditCheckpoint): AuditCheckpoint => ({
  ...c,
  time: new Date(c.time),
  signature: Buffer.from(c.signature),
});
const ocspKey = (issuerId: string, serial: string, hash: string): string => `${issuerId}\u0000${serial}\u0000${hash}`;

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly mutex = new Mutex();
  private closed = false;
  private readonly certs = new Map<string, CertificateRecord>();
  private readonly revs = new Map<string, RevocationRecord>();
  private readonly changes: StatusChange[] = [];
  private readonly ocsp = new Map<string, OcspResponseRecord>();
  private readonly crlRecords = new Map<string, CrlRecord>();
  private readonly crlCounters = new Map<string, bigint>();
  private readonly crlLatest = new Map<string, bigint>();
  private readonly entries: AuditEntry[] = [];
  private readonly checkpoints = new Map<number, AuditCheckpoint>();
  private readonly metaValues = new Map<string, string>();

  async open(): Promise<void> {
    this.closed = false;
  }

  async close(): Promise<void> {
    await this.mutex.run(() => {
      this.closed = true;
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw new AgentCaError('STORE_UNAVAILABLE', 'the memory store is closed');
  }

  private readonly reader: PlannerReader = {
    certificateExists: async (serial) => this.certs.has(serial),
    revocation: async (serial) => this.revs.get(serial),
    ocspResponse: async (issuerId, serial, hash) => this.ocsp.get(ocspKey(issuerId, serial, hash)),
    auditHead: async () => this.head(),
    lastChangeSeq: async () => this.changes.at(-1)?.seq ?? 0,
    crlCounter: async (issuerId) => this.crlCounters.get(issuerId) ?? 0n,
    latestCrlNumber: async (issuerId, kind) => this.crlLatest.get(`${issuerId}\u0000${kind}`),
  };

  private head(): AuditHead | null {
    const last = this.entries.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : null;
  }

  commit(batch: readonly WriteOp[], opts?: CommitOptions): Promise<CommitResult> {
    return this.mutex.run(async () => {
      this.ensureOpen();
      const plan = await planCommit(batch, this.reader, opts);
      this.apply(plan);
      return { changes: plan.changes.map(cloneChange) };
    });
  }

  /** Applying cannot fail: every check happened in planCommit. */
  private apply(plan: CommitPlan): void {
    for (const m of plan.mutations) {
      switch (m.kind) {
        case 'putCertificate':
          this.certs.set(m.record.serial, cloneCert(m.record));
          break;
        case 'putRevocation':
          this.revs.set(m.record.serial, cloneRevocation(m.record));
          break;
        case 'deleteRevocation':
          this.revs.delete(m.previous.serial);
          break;
        case 'putStatusChange':
          this.changes.push(cloneChange(m.change));
          break;
        case 'putOcspResponse':
          this.ocsp.set(ocspKey(m.record.issuerId, m.record.serial, m.record.hashAlgorithm), cloneOcsp(m.record));
          break;
        case 'putCrl':
          this.crlRecords.set(`${m.record.issuerId}\u0000${m.record.number}`, cloneCrl(m.record));
          if (m.latest) this.crlLatest.set(`${m.record.issuerId}\u0000${m.record.kind}`, m.record.number);
          if (m.counter !== undefined) this.crlCounters.set(m.record.issuerId, m.counter);
          break;
        case 'appendAudit':
          this.entries.push(cloneEntry(m.entry));
          break;
        case 'putAuditCheckpoint':
          this.checkpoints.set(m.checkpoint.seq, cloneCheckpoint(m.checkpoint));
          break;
        case 'putMeta':
          this.metaValues.set(m.key, JSON.stringify(m.value));
          break;
        case 'deleteMeta':
          this.metaValues.delete(m.key);
          break;
      }
    }
  }

  readonly certificates: CertificatePort = {
    get: async (serial) => {
      this.ensureOpen();
      const r = this.certs.get(serial);
      return r && cloneCert(r);
    },
    has: async (serial) => (this.ensureOpen(), this.certs.has(serial)),
    listByAgent: async (agentId) => this.filterCerts((r) => r.agentId === agentId),
    listByTenant: async (tenant) => this.filterCerts((r) => r.tenant === tenant),
    listExpiringBefore: async (before, opts = {}) => {
      const from = opts.from?.getTime() ?? -Infinity;
      const hits = this.filterCerts((r) => r.notAfter.getTime() < before.getTime() && r.notAfter.getTime() >= from);
      hits.sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime() || cmp(a.serial, b.serial));
      return opts.limit === undefined ? hits : hits.slice(0, opts.limit);
    },
    iterate: (opts = {}) => {
      const self = this;
      return (async function* () {
        self.ensureOpen();
        const serials = [...self.certs.keys()].sort(cmp);
        for (const s of serials) {
          const r = self.certs.get(s);
          if (r && (opts.issuerId === undefined || r.issuerId === opts.issuerId)) yield cloneCert(r);
        }
      })();
    },
    count: async () => (this.ensureOpen(), this.certs.size),
  };

  private filterCerts(pred: (r: CertificateRecord) => boolean): CertificateRecord[] {
    this.ensureOpen();
    return [...this.certs.values()]
      .filter(pred)
      .sort((a, b) => cmp(a.serial, b.serial))
      .map(cloneCert);
  }

  readonly revocations: RevocationPort = {
    get: async (serial) => {
      this.ensureOpen();
      const r = this.revs.get(serial);
      return r && cloneRevocation(r);
    },
    iterate: ({ issuerId }) => {
      const self = this;
      return (async function* () {
        self.ensureOpen();
        const hits = [...self.revs.values()]
          .filter((r) => r.issuerId === issuerId)
          .sort((a, b) => cmp(a.serial, b.serial));
        for (const r of hits) yield cloneRevocation(r);
      })();
    },
    changesSince: (issuerId: IssuerId, afterSeq: number) => {
      const self = this;
      return (async function* () {
        self.ensureOpen();
        const hits = self.changes.filter((c) => c.issuerId === issuerId && c.seq > afterSeq);
        for (const c of hits) yield cloneChange(c);
      })();
    },
    lastChangeSeq: async () => (this.ensureOpen(), this.changes.at(-1)?.seq ?? 0),
  };

  readonly ocspResponses: OcspResponsePort = {
    get: async (issuerId: IssuerId, serial: Serial, hash = 'sha1') => {
      this.ensureOpen();
      const r = this.ocsp.get(ocspKey(issuerId, serial, hash));
      return r && cloneOcsp(r);
    },
    iterate: (issuerId) => {
      const self = this;
      return (async function* () {
        self.ensureOpen();
        const hits = [...self.ocsp.values()]
          .filter((r) => r.issuerId === issuerId)
          .sort((a, b) => cmp(a.serial, b.serial));
        for (const r of hits) yield cloneOcsp(r);
      })();
    },
    listDueBefore: async (before, opts = {}) => {
      this.ensureOpen();
      const hits = [...this.ocsp.values()]
        .filter((r) => r.nextUpdate.getTime() < before.getTime())
        .sort(
          (a, b) =>
            a.nextUpdate.getTime() - b.nextUpdate.getTime() || cmp(a.issuerId, b.issuerId) || cmp(a.serial, b.serial),
        );
      return (opts.limit === undefined ? hits : hits.slice(0, opts.limit)).map(cloneOcsp);
    },
  };

  readonly crls: CrlPort = {
    latest: async (issuerId: IssuerId, kind: CrlKind) => {
      this.ensureOpen();
      const n = this.crlLatest.get(`${issuerId}\u0000${kind}`);
      const r = n === undefined ? undefined : this.crlRecords.get(`${issuerId}\u0000${n}`);
      return r && cloneCrl(r);
    },
    get: async (issuerId, number) => {
      this.ensureOpen();
      const r = this.crlRecords.get(`${issuerId}\u0000${number}`);
      return r && cloneCrl(r);
    },
    nextCrlNumber: (issuerId) =>
      this.mutex.run(() => {
        this.ensureOpen();
        const n = (this.crlCounters.get(issuerId) ?? 0n) + 1n;
        this.crlCounters.set(issuerId, n);
        return n;
      }),
    counter: async (issuerId) => (this.ensureOpen(), this.crlCounters.get(issuerId) ?? 0n),
    iterate: (issuerId) => {
      const self = this;
      return (async function* () {
        self.ensureOpen();
        const hits = [...self.crlRecords.values()]
          .filter((r) => r.issuerId === issuerId)
          .sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
        for (const r of hits) yield cloneCrl(r);
      })();
    },
  };

  readonly audit: AuditPort = {
    head: async () => (this.ensureOpen(), this.head()),
    get: async (seq) => {
      this.ensureOpen();
      // seqs are gap-free from 1, so the entry for seq sits at index seq - 1
      const e = this.entries[seq - 1];
      return e && e.seq === seq ? cloneEntry(e) : undefined;
    },
    iterate: (range: AuditRange = {}) => {
      const self = this;
      return (async function* () {
        self.ensureOpen();
        const from = range.fromSeq ?? 1;
        const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
        const t0 = range.fromTime?.getTime() ?? -Infinity;
        const t1 = range.toTime?.getTime() ?? Infinity;
        const hits = self.entries.filter(
          (e) => e.seq >= from && e.seq <= to && e.time.getTime() >= t0 && e.time.getTime() <= t1,
        );
        if (range.fromTime || range.toTime) hits.sort((a, b) => a.time.getTime() - b.time.getTime() || a.seq - b.seq);
        for (const e of hits) yield cloneEntry(e);
      })();
    },
    iterateCheckpoints: (range = {}) => {
      const self = this;
      return (async function* () {
        for (const c of self.checkpointsIn(range)) yield c;
      })();
    },
    listCheckpoints: async (range = {}) => this.checkpointsIn(range),
    latestCheckpoint: async () => this.checkpointsIn({}).at(-1),
  };

  private checkpointsIn(range: { fromSeq?: number; toSeq?: number }): AuditCheckpoint[] {
    this.ensureOpen();
    const from = range.fromSeq ?? 0;
    const to = range.toSeq ?? Number.MAX_SAFE_INTEGER;
    return [...this.checkpoints.values()]
      .filter((c) => c.seq >= from && c.seq <= to)
      .sort((a, b) => a.seq - b.seq)
      .map(cloneCheckpoint);
  }

  readonly meta: MetaPort = {
    get: async <T>(key: string) => {
      this.ensureOpen();
      const v = this.metaValues.get(key);
      return v === undefined ? undefined : (JSON.parse(v) as T);
    },
    put: async (key, value, opts) => {
      await this.commit([{ op: 'putMeta', key, value }], opts);
    },
    iterate: () => {
      const self = this;
      return (async function* () {
        self.ensureOpen();
        for (const key of [...self.metaValues.keys()].sort(cmp))
          yield { key, value: JSON.parse(self.metaValues.get(key)!) as unknown };
      })();
    },
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function createMemoryStore(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.open();
  return store;
}
