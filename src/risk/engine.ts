/**
 * The behavioural risk engine: events in, per-certificate score out, actions on band
 * crossings. One ingest call:
 *   validate (all-or-nothing) -> attribute each event to a certificate (serial, or the agent's
 *   newest good one) -> classify against the certificate's own extensions -> ONE audit entry
 *   for the batch -> count into the windows -> score each certificate touched -> act.
 * Nothing is counted unless the batch's audit entry committed, so the windows never hold an
 * event the log lacks. Actions run after ingest returns, serialised per certificate
 * (warn -> hold -> revoke keep their order), each at most once per crossing; `settle()` waits.
 */
import { randomUUID } from 'node:crypto';
import { AgentCaError } from '../errors.js';
import { errorMessage, stderrLogger, type Logger } from '../logger.js';
import { parseSerial } from '../profile/serial.js';
import type { Serial } from '../types.js';
import { RISK_ACTOR, type RiskActions } from './actions.js';
import { batchEntry, eventTuple, INGEST_ACTION, readBatch, type EventTuple } from './audit-record.js';
import {
  parseRiskConfig,
  tenantRiskConfig,
  withTenantThresholds,
  type RiskConfig,
  type TenantRiskConfig,
} from './config.js';
import { CertificateContexts, type CertificateContext, type RiskHost } from './context.js';
import { RiskEventsRejected, validateEvents, type EventFieldError, type NormalisedEvent } from './events.js';
import {
  amountLogOf,
  amountStats,
  classifyEvent,
  extractFeatures,
  type AmountStats,
  type EventFlags,
} from './features.js';
import { combineFeatures, type RiskAssessment, type RiskBand } from './score.js';
import { BandTransitions } from './transitions.js';
import { RingScratch } from './compact-window.js';
import { ResidentWindows, type ResidentWindowStats } from './resident-windows.js';
import { bucketOf, windowBytes } from './window.js';

export interface RiskEngineOptions {
  /** An Authority, or anything with the same slice (context.ts RiskHost). */
  host: RiskHost;
  actions: RiskActions;
  /** Parsed with parseRiskConfig (default: all defaults). */
  config?: RiskConfig;
  /** Cached certificate contexts (default 100,000). */
  maxContexts?: number;
  /** Where failures in the background (actions, the reassess timer) are reported; default stderr. */
  logger?: Logger;
  /**
   * Several processes ingest into one store (PostgreSQL peers, docs/risk-engine.md): the
   * windows follow the audit log. Each batch is appended, then every `events.ingested` entry
   * up to it (the peers' included) is applied in audit order before it is scored, so every
   * process holds the same windows and scores a batch on all events logged before it. A band
   * crossing is acted on by the process whose batch caused it; the others only record it.
   * One batch at a time per process.
   */
  shared?: boolean;
  /**
   * Names this engine's evicted windows in the store's meta (`risk.window.<instance>.<serial>`).
   * Default: 'local' on a store only one process opens (LevelDB's lock, memory), where a later
   * run overwrites what an earlier one left; a random id on PostgreSQL, where several processes
   * share the meta and each evicts at its own point in the log. A stable id per process there
   * makes a restart overwrite its predecessor's snapshots instead of leaving them behind.
   */
  instance?: string;
}

export interface IngestOptions {
  /** Who submitted the batch (audit actor); default 'library'. */
  actor?: string;
  /**
   * Only certificates of this tenant (and, with `agentId`, of this agent) may be named: any
   * other is reported exactly like a serial that does not exist (docs/tenancy.md).
   */
  tenant?: string;
  agentId?: string;
  /**
   * Called once the batch is attributed, before anything is stored, with the number of events
   * per tenant (certificates without a tenant count under ''); throwing refuses the whole
   * batch (the per-tenant quota, docs/tenancy.md).
   */
  admit?: (perTenant: ReadonlyMap<string, number>) => void;
}

export interface IngestResult {
  accepted: number;
  /** seq of the batch's audit entry */
  auditSeq?: number;
  scores: { serial: string; value: number; band: RiskBand }[];
}

export class RiskEngine {
  private cfg: RiskConfig;
  private readonly host: RiskHost;
  private readonly windows: ResidentWindows;
  private readonly contexts: CertificateContexts;
  private readonly transitions: BandTransitions;
  /** The ring each compact window is copied into to compute its features (compact-window.ts). */
  private readonly ring: RingScratch;
  private readonly logError: (what: string, error: unknown) => void;
  private readonly detach: () => void;
  private timer: NodeJS.Timeout | undefined;
  private readonly shared: boolean;
  /** shared: the last audit seq applied to the windows */
  private applied = 0;
  /** shared: batches, catch-ups and scores one at a time */
  private turn: Promise<unknown> = Promise.resolve();
  /** shared: turns that failed (their caller got the error; the next turn runs regardless) */
  private failedTurns = 0;

  constructor(opts: RiskEngineOptions) {
    this.host = opts.host;
    this.shared = opts.shared ?? false;
    this.cfg = opts.config ?? parseRiskConfig();
    const logger = opts.logger ?? stderrLogger;
    this.windows = new ResidentWindows({
      shape: this.config.window,
      store: opts.host.store,
      maxBytes: this.config.memory.maxWindowBytes,
      prefix: `risk.window.${opts.instance ?? (this.shared || opts.host.store.kind === 'postgres' ? randomUUID() : 'local')}.`,
      logger,
    });
    this.ring = new RingScratch(this.config.window);
    this.contexts = new CertificateContexts(opts.host, opts.maxContexts);
    this.logError = (what, e) => logger.error(`risk engine ${what} failed`, { error: errorMessage(e) });
    this.transitions = new BandTransitions(opts.host, opts.actions, this.logError);
    const offContexts = this.contexts.attach(this.host.hooks);
    const offRevoked = this.host.hooks.on('certificate.revoked', (e) => this.transitions.revoked(e.serial));
    const offReleased = this.host.hooks.on('certificate.released', (e) => this.transitions.released(e.serial, e.actor));
    this.detach = () => {
      offContexts();
      offRevoked();
      offReleased();
    };
  }

  /**
   * Ingests a batch. Throws RiskEventsRejected (INPUT_INVALID, 400) listing every bad field,
   * including events that cannot be attributed to a certificate; then nothing is stored.
   */
  async ingest(raw: unknown, opts: IngestOptions = {}): Promise<IngestResult> {
    const v = validateEvents(raw, this.config.limits, this.host.clock.now());
    if ('errors' in v) throw new RiskEventsRejected(v.errors);
    const events = v.events;
    if (events.length === 0) return { accepted: 0, scores: [] };

    const ctxs: CertificateContext[] = [];
    const errors: EventFieldError[] = [];
    for (let i = 0; i < events.length; i++) {
      const r = await this.attribute(events[i]!, i, errors, opts);
      if (r) ctxs[i] = r;
    }
    if (errors.length > 0) throw new RiskEventsRejected(errors);
    if (opts.admit) {
      const perTenant = new Map<string, number>();
      for (const c of ctxs) perTenant.set(c.tenant ?? '', (perTenant.get(c.tenant ?? '') ?? 0) + 1);
      opts.admit(perTenant);
    }
    if (this.shared) return this.inTurn(() => this.ingestAttributed(events, ctxs, opts));
    return this.ingestAttributed(events, ctxs, opts);
  }

  private async ingestAttributed(
    events: NormalisedEvent[],
    ctxs: CertificateContext[],
    opts: IngestOptions,
  ): Promise<IngestResult> {
    if (this.shared) await this.catchUp();
    const serials = [...new Set(ctxs.map((c) => c.serial))];
    await this.windows.acquire(serials);
    try {
      return await this.countAndScore(events, ctxs, serials, opts);
    } finally {
      this.windows.release(serials);
      await this.windows.trim();
    }
  }

  /** ingest, once the batch's windows are resident. */
  private async countAndScore(
    events: NormalisedEvent[],
    ctxs: CertificateContext[],
    serials: string[],
    opts: IngestOptions,
  ): Promise<IngestResult> {
    // Classify against the history as it was before this batch (deterministic within a batch).
    const stats = new Map<string, AmountStats>();
    const flags: EventFlags[] = [];
    const tuples: EventTuple[] = [];
    const classifyAt = this.host.clock.now().getTime();
    const agentIds = new Set<string>();
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const ctx = ctxs[i]!;
      let s = stats.get(ctx.serial);
      if (!s) {
        s = this.ring.with(this.windows.get(ctx.serial), (ring) => amountStats(ring, classifyAt));
        stats.set(ctx.serial, s);
        if (ctx.agentId !== undefined) agentIds.add(ctx.agentId);
      }
      const f = classifyEvent(e, ctx, s, this.tenantConfig(ctx).features, (a) => ctx.permits(a));
      flags.push(f);
      tuples.push(eventTuple(ctx.serial, e, f));
    }

    const entry = batchEntry({ tuples, serials, agentIds: [...agentIds] });
    const { entries } = await this.host.audit.appendWith([], {
      actor: opts.actor ?? 'library',
      action: INGEST_ACTION,
      subject: entry.subject,
      details: entry.details,
    });

    // Counted only now that the log holds the batch. Times within the allowed skew count as now.
    let nowMs = this.host.clock.now().getTime();
    if (this.shared && entries[0]) {
      // the peers' batches logged before this one first; then this one at its entry's time,
      // exactly as a peer (or a restore) replays it
      await this.catchUp(entries[0].seq - 1);
      nowMs = entries[0].time.getTime();
      this.applied = entries[0].seq;
    }
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const f = flags[i]!;
      this.windows.add(ctxs[i]!.serial, Math.min(e.timeMs, nowMs), {
        type: e.type,
        outcome: e.outcome,
        scopeViolation: f.scopeViolation,
        policyBreach: f.amountOverLimit || f.marketNotAllowed,
        authFailure: f.authFailure,
        anomalous: f.anomalous,
        ...(f.amountLog !== undefined ? { amountLog: f.amountLog } : {}),
      });
    }

    const scores: IngestResult['scores'] = [];
    const seen = new Set<string>();
    for (const ctx of ctxs) {
      if (seen.has(ctx.serial)) continue;
      seen.add(ctx.serial);
      const a = this.assess(ctx, nowMs);
      scores.push({ serial: ctx.serial, value: a.value, band: a.band });
      this.transitions.evaluate(ctx, a, this.tenantConfig(ctx), nowMs);
    }
    return { accepted: events.length, ...(entries[0] ? { auditSeq: entries[0].seq } : {}), scores };
  }

  private async attribute(
    e: NormalisedEvent,
    index: number,
    errors: EventFieldError[],
    scope: Pick<IngestOptions, 'tenant' | 'agentId'>,
  ): Promise<CertificateContext | undefined> {
    let ctx: CertificateContext | string;
    const outside = (c: CertificateContext): boolean =>
      (scope.tenant !== undefined && c.tenant !== scope.tenant) ||
      (scope.agentId !== undefined && c.agentId !== scope.agentId);
    if (e.serial !== undefined) {
      ctx = this.contexts.peek(e.serial) ?? (await this.contexts.bySerial(e.serial));
      if (typeof ctx !== 'string' && outside(ctx)) ctx = `no certificate with serial ${e.serial}`;
      if (typeof ctx === 'string') return void errors.push({ index, field: 'serial', message: ctx });
      if (e.agentId !== undefined && ctx.agentId !== e.agentId) {
        return void errors.push({
          index,
          field: 'agentId',
          message: `serial ${ctx.serial} belongs to ${ctx.agentId === undefined ? 'no agent id' : `agent ${ctx.agentId}`}`,
        });
      }
    } else {
      ctx = await this.contexts.byAgent(e.agentId!);
      if (typeof ctx !== 'string' && outside(ctx)) ctx = `agent ${e.agentId} has no good (or held) certificate`;
      if (typeof ctx === 'string') return void errors.push({ index, field: 'agentId', message: ctx });
    }
    if (e.tenant !== undefined && e.tenant !== ctx.tenant) {
      return void errors.push({
        index,
        field: 'tenant',
        message: `certificate ${ctx.serial} belongs to ${ctx.tenant === undefined ? 'no tenant' : `tenant ${ctx.tenant}`}`,
      });
    }
    return ctx;
  }

  /** shared: runs `task` after every earlier batch, catch-up and score of this engine. */
  private inTurn<T>(task: () => Promise<T>): Promise<T> {
    const run = this.turn.then(task, task);
    // The caller gets the failure from `run`; the chain only counts it, so the next turn runs.
    this.turn = run.then(
      () => undefined,
      () => void this.failedTurns++,
    );
    return run;
  }

  /**
   * shared: applies the `events.ingested` entries after the last applied seq (up to `toSeq`)
   * in audit order, with the flags they record, and records each batch's band crossings
   * without acting on them (the process that logged the batch acts). In turn only.
   */
  private async catchUp(toSeq?: number): Promise<void> {
    if (toSeq !== undefined && toSeq <= this.applied) return;
    for await (const entry of this.host.store.audit.iterate({
      fromSeq: this.applied + 1,
      ...(toSeq !== undefined ? { toSeq } : {}),
    })) {
      if (entry.seq <= this.applied) continue;
      if (entry.action === INGEST_ACTION) {
        const entryMs = entry.time.getTime();
        const batch = readBatch(entry.details);
        const touched = new Map<string, CertificateContext | string>();
        for (const ev of batch)
          if (!touched.has(ev.serial)) touched.set(ev.serial, await this.contexts.bySerial(ev.serial as Serial));
        const serials = [...touched.keys()];
        await this.windows.acquire(serials);
        try {
          for (const ev of batch) {
            const ctx = touched.get(ev.serial)!;
            if (typeof ctx === 'string') continue;
            const amountLog = amountLogOf(ev, ctx);
            this.windows.add(ev.serial, Math.min(ev.timeMs, entryMs), {
              ...ev.increment,
              ...(amountLog !== undefined ? { amountLog } : {}),
            });
          }
          for (const ctx of touched.values())
            if (typeof ctx !== 'string')
              this.transitions.observe(ctx, this.assess(ctx, entryMs), this.tenantConfig(ctx));
        } finally {
          this.windows.release(serials);
        }
        await this.windows.trim();
      }
      this.applied = entry.seq;
    }
  }

  get config(): RiskConfig {
    return this.cfg;
  }

  /**
   * A tenant's warning / revoke thresholds as the tenant registry holds them (docs/tenancy.md):
   * they replace the configured ones for that tenant from the next score on.
   */
  setTenantThresholds(tenant: string, thresholds: { warning?: number; revoke?: number }): void {
    this.cfg = withTenantThresholds(this.cfg, tenant, thresholds);
  }

  private tenantConfig(ctx: Pick<CertificateContext, 'tenant'>): TenantRiskConfig {
    return tenantRiskConfig(this.config, ctx.tenant);
  }

  /** The score over the certificate's window, which must be acquired (or have none). */
  private assess(ctx: CertificateContext, nowMs: number): RiskAssessment {
    const cfg = this.tenantConfig(ctx);
    const w = this.windows.get(ctx.serial);
    const features = this.ring.with(w, (ring) =>
      // The baseline only moves when the bucket rolls over: memoised per window.
      extractFeatures(
        ring,
        nowMs,
        cfg.features,
        w?.baseline(ring, bucketOf(nowMs, ring.bucketMs), cfg.features.rate.quantile),
      ),
    );
    const score = combineFeatures(features, cfg);
    return {
      serial: ctx.serial,
      ...(ctx.agentId !== undefined ? { agentId: ctx.agentId } : {}),
      ...(ctx.tenant !== undefined ? { tenant: ctx.tenant } : {}),
      at: new Date(nowMs).toISOString(),
      ...score,
    };
  }

  /** The score of a certificate at `at` (default now), with its reasons. No side effects. */
  async score(serialInput: string, at?: Date): Promise<RiskAssessment> {
    const serial = parseSerial(serialInput);
    const ctx = await this.contexts.bySerial(serial);
    if (typeof ctx === 'string') throw new AgentCaError('CERT_NOT_FOUND', ctx, { serial });
    const assess = async (): Promise<RiskAssessment> => {
      if (this.shared) await this.catchUp();
      return this.withWindows([serial], () => this.assess(ctx, (at ?? this.host.clock.now()).getTime()));
    };
    return this.shared ? this.inTurn(assess) : assess();
  }

  /** Runs `fn` with the windows of `serials` resident, then trims to the budget. */
  private async withWindows<T>(serials: string[], fn: () => T): Promise<T> {
    await this.windows.acquire(serials);
    try {
      return fn();
    } finally {
      this.windows.release(serials);
      await this.windows.trim();
    }
  }

  /** Waits for every queued action (tests, graceful shutdown). */
  settle(): Promise<void> {
    return this.transitions.settle();
  }

  /**
   * Re-scores the certificates in or above the warning band, or under an engine hold, at the
   * clock's now: scores fall as bad behaviour ages, so a hold is released even if the agent
   * sends nothing. Also drops windows (and action state) with nothing left in them. Returns
   * how many were scored.
   */
  async reassess(): Promise<number> {
    if (this.shared) return this.inTurn(() => this.reassessNow());
    return this.reassessNow();
  }

  private async reassessNow(): Promise<number> {
    if (this.shared) await this.catchUp();
    const nowMs = this.host.clock.now().getTime();
    let n = 0;
    for (const serial of this.transitions.watched()) {
      const ctx = await this.contexts.bySerial(serial as Serial);
      if (typeof ctx === 'string') continue;
      await this.withWindows([serial], () =>
        this.transitions.evaluate(ctx, this.assess(ctx, nowMs), this.tenantConfig(ctx), nowMs),
      );
      n++;
    }
    await this.windows.sweep(nowMs);
    this.transitions.forget((serial) => this.windows.has(serial));
    return n;
  }

  /** Calls reassess() every `intervalMs` (unref'd timer) until close(). */
  startReassessing(intervalMs = 60_000): void {
    this.stopReassessing();
    this.timer = setInterval(
      () => void this.reassess().catch((e: unknown) => this.logError('reassess', e)),
      intervalMs,
    );
    this.timer.unref();
  }

  stopReassessing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Rebuilds the windows from the audit log's `events.ingested` entries of the last window span
   * (after a restart), with the flags recorded at ingest time, then re-derives the action
   * state without re-notifying: in or above warning counts as already alerted, a hold whose
   * revocation record names the engine as actor is the engine's. Call before the first ingest.
   */
  async restore(): Promise<{ entries: number; events: number }> {
    const now = this.host.clock.now();
    const from = new Date(now.getTime() - this.config.limits.maxAgeMs);
    // shared: entries after the head read here are the peers' and applied by the next catch-up
    const head = this.shared ? ((await this.host.store.audit.head())?.seq ?? 0) : Infinity;
    let entries = 0;
    let events = 0;
    const contexts = new Map<string, CertificateContext | string>();
    for await (const entry of this.host.store.audit.iterate({ fromTime: from, toTime: now })) {
      if (entry.seq > head) break;
      if (entry.action !== INGEST_ACTION) continue;
      entries++;
      const batch = readBatch(entry.details);
      const serials = new Set<string>();
      for (const ev of batch) {
        serials.add(ev.serial);
        if (!contexts.has(ev.serial)) contexts.set(ev.serial, await this.contexts.bySerial(ev.serial as Serial));
      }
      await this.withWindows([...serials], () => {
        for (const ev of batch) {
          const ctx = contexts.get(ev.serial)!;
          if (typeof ctx === 'string') continue;
          const amountLog = amountLogOf(ev, ctx);
          this.windows.add(ev.serial, Math.min(ev.timeMs, entry.time.getTime()), {
            ...ev.increment,
            ...(amountLog !== undefined ? { amountLog } : {}),
          });
          events++;
        }
      });
    }
    if (this.shared) this.applied = head;
    const nowMs = now.getTime();
    for (const [serial, ctx] of contexts) {
      if (typeof ctx === 'string') continue;
      const a = await this.withWindows([serial], () => this.assess(ctx, nowMs));
      const cfg = this.tenantConfig(ctx);
      const rev = await this.host.store.revocations.get(serial as Serial);
      this.transitions.restore(serial, {
        alerted: a.value >= cfg.thresholds.warning,
        revoked: rev !== undefined && rev.reason !== 'certificateHold',
        engineHold: rev?.reason === 'certificateHold' && rev.actor === RISK_ACTOR,
      });
      // e.g. an engine hold whose score has faded meanwhile is released now
      this.transitions.evaluate(ctx, a, cfg, nowMs);
    }
    return { entries, events };
  }

  /**
   * Memory the windows hold: typed-array bytes over all windows (walks them), their mean per
   * certificate, and what the fixed ring of buckets would hold for the same certificates.
   */
  stats(): {
    certificates: number;
    windowBytes: number;
    bytesPerCertificate: number;
    ringBytesPerCertificate: number;
    contexts: number;
    /** resident / evicted windows, the budget, evictions and restores so far */
    windows: ResidentWindowStats;
    /** shared: turns (batches, catch-ups, scores) that failed; each caller got its error */
    failedTurns: number;
  } {
    const windows = this.windows.stats();
    const bytes = this.windows.typedArrayBytes;
    return {
      certificates: this.windows.size,
      windowBytes: bytes,
      bytesPerCertificate: windows.resident > 0 ? Math.round(bytes / windows.resident) : 0,
      ringBytesPerCertificate: windowBytes(this.config.window),
      contexts: this.contexts.size,
      windows,
      failedTurns: this.failedTurns,
    };
  }

  /**
   * Deletes the snapshots of evicted windows (a clean shutdown: the next start rebuilds the
   * windows from the audit log). The engine must not ingest or score after it.
   */
  async discardEvicted(): Promise<void> {
    this.close();
    await this.windows.dropSnapshots();
  }

  /** Stops the timer and unsubscribes from the hooks (pending actions keep running; see settle()). */
  close(): void {
    this.stopReassessing();
    this.detach();
  }
}
