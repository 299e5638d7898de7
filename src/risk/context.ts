/**
 * What the engine needs to know about a certificate to judge its events: its own signed
 * extensions (agentScope, agentPolicy, agentContext's tenant) and its status. Decoded once per
 * serial and cached; the authority's hooks (issued, revoked, held, released, renewed) drop the
 * entries they make stale, so a revoked or superseded certificate is re-read on its next event.
 */
import type { AuditLog } from '../audit/audit-log.js';
import { parseCertificate } from '../asn1/certificate-parse.js';
import { decodeAgentExtensions } from '../asn1/extensions/index.js';
import { readableAgentExtensionOids } from '../asn1/oids.js';
import { scopePermits } from '../asn1/scope-match.js';
import type { Clock } from '../clock.js';
import type { HookBus, HookName } from '../revocation/hooks.js';
import type { CertificateState, CertificateStatus } from '../revocation/status.js';
import type { CertificateRecord, Store } from '../store/ports.js';
import type { Serial } from '../types.js';
import type { CertificateFacts } from './features.js';

/** The slice of an Authority the risk engine uses (an Authority satisfies it). */
export interface RiskHost {
  readonly store: Store;
  /** The authority's audit log: each batch's `events.ingested` entry is appended through it. */
  readonly audit: AuditLog;
  readonly hooks: HookBus;
  readonly clock: Clock;
  readonly config: { readonly oidArc: string };
  statusOf(record: CertificateRecord): Promise<CertificateStatus>;
}

export interface CertificateContext extends CertificateFacts {
  readonly serial: Serial;
  readonly agentId?: string;
  /** agentContext.tenantId from the certificate, else the record's tenant. */
  readonly tenant?: string;
  readonly notAfterMs: number;
  /** Status when loaded; the hooks invalidate the entry when it changes. */
  readonly state: CertificateState;
  /** scopePermits over the certificate's agentScope, memoised per action. */
  permits(action: string): boolean;
}

const PERMIT_MEMO = 4096;
const WATCHED: readonly HookName[] = [
  'certificate.issued',
  'certificate.revoked',
  'certificate.held',
  'certificate.released',
  'certificate.renewed',
];

export class CertificateContexts {
  private readonly bySerialCache = new Map<string, CertificateContext>();
  private readonly byAgentCache = new Map<string, Serial>();

  constructor(
    private readonly host: RiskHost,
    private readonly maxEntries = 100_000,
  ) {}

  /** The cached context, if any (no I/O: the ingest fast path). */
  peek(serial: string): CertificateContext | undefined {
    return this.bySerialCache.get(serial);
  }

  /** Loads (or returns the cached) context; a string says why there is none. */
  async bySerial(serial: Serial): Promise<CertificateContext | string> {
    const hit = this.bySerialCache.get(serial);
    if (hit) return hit;
    const record = await this.host.store.certificates.get(serial);
    if (!record) return `no certificate with serial ${serial}`;
    if (record.isCa || record.profile === 'ocsp-responder') return `${serial} is not an agent certificate`;
    const ctx = this.build(record, await this.host.statusOf(record));
    this.remember(ctx);
    return ctx;
  }

  /**
   * The agent's newest good certificate (by notBefore, then issuedAt); failing that its newest
   * held one, so a suspended agent's events are still recorded (and can lift an engine hold).
   */
  async byAgent(agentId: string): Promise<CertificateContext | string> {
    const cached = this.byAgentCache.get(agentId);
    const now = this.host.clock.now().getTime();
    if (cached) {
      const ctx = this.bySerialCache.get(cached);
      if (ctx && (ctx.state === 'good' || ctx.state === 'held') && ctx.notAfterMs >= now) return ctx;
    }
    const records = (await this.host.store.certificates.listByAgent(agentId))
      .filter((r) => !r.isCa && r.profile !== 'ocsp-responder')
      .sort((a, b) => b.notBefore.getTime() - a.notBefore.getTime() || b.issuedAt.getTime() - a.issuedAt.getTime());
    let best: CertificateContext | undefined;
    let held: CertificateContext | undefined;
    for (const r of records) {
      if (r.notAfter.getTime() < now) continue;
      const status = await this.host.statusOf(r);
      if (status.state === 'good') {
        best = this.bySerialCache.get(r.serial) ?? this.build(r, status);
        break;
      }
      if (status.state === 'held' && !held) held = this.bySerialCache.get(r.serial) ?? this.build(r, status);
    }
    best ??= held;
    if (!best) return `agent ${agentId} has no good (or held) certificate`;
    this.remember(best);
    this.byAgentCache.set(agentId, best.serial);
    return best;
  }

  invalidate(serial: string, agentId?: string): void {
    this.bySerialCache.delete(serial);
    if (agentId !== undefined) this.byAgentCache.delete(agentId);
  }

  /** Subscribes to the hooks that make entries stale; returns the unsubscribe function. */
  attach(hooks: HookBus): () => void {
    const offs = WATCHED.map((name) => hooks.on(name, (e) => this.invalidate(e.serial, e.agentId)));
    return () => offs.forEach((off) => off());
  }

  get size(): number {
    return this.bySerialCache.size;
  }

  private build(record: CertificateRecord, status: CertificateStatus): CertificateContext {
    const parsed = parseCertificate(record.der);
    // Never throws: an undecodable extension is left out (scope: default deny; policy: unchecked).
    const ext = decodeAgentExtensions(parsed.extensions, readableAgentExtensionOids(this.host.config.oidArc));
    const scope = ext.agentScope ? Object.freeze([...ext.agentScope]) : undefined;
    const memo = new Map<string, boolean>();
    const tenant = ext.agentContext?.tenantId ?? record.tenant;
    return Object.freeze({
      serial: record.serial,
      ...(record.agentId !== undefined ? { agentId: record.agentId } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
      ...(scope ? { scope } : {}),
      ...(ext.agentPolicy ? { policy: ext.agentPolicy } : {}),
      notAfterMs: record.notAfter.getTime(),
      state: status.state,
      permits(action: string): boolean {
        let v = memo.get(action);
        if (v === undefined) {
          if (memo.size >= PERMIT_MEMO) memo.clear();
          memo.set(action, (v = scopePermits(scope ?? [], action)));
        }
        return v;
      },
    });
  }

  private remember(ctx: CertificateContext): void {
    if (this.bySerialCache.size >= this.maxEntries) {
      // Oldest insertion first (Map order): a simple bound, re-read on next use.
      const oldest = this.bySerialCache.keys().next().value;
      if (oldest !== undefined) this.bySerialCache.delete(oldest);
    }
    this.bySerialCache.set(ctx.serial, ctx);
  }
}
