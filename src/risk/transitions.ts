/**
 * Band crossings -> actions, once per crossing. Per certificate it remembers what
 * was already done (warned, hold wanted / placed, revocation requested) and runs the actions in
 * a per-certificate chain, so warn -> hold -> revoke keep their order and never block ingest.
 *
 * - entering warning (from below): audit `risk.warning`, then actions.warn; with holdOnWarning
 *   also a hold, unless the same score already revokes;
 * - reaching revoke (autoRevoke): actions.revoke, once; retried on a later crossing only if it
 *   failed for another reason than "already revoked";
 * - back below warning: a hold the engine placed is released. A human's hold is never
 *   released; a human's release of the engine's hold is respected.
 */
import { isAgentCaError } from '../errors.js';
import type { Serial } from '../types.js';
import { RISK_ACTOR, type RiskActions, type RiskExplanation } from './actions.js';
import type { TenantRiskConfig } from './config.js';
import type { CertificateContext, RiskHost } from './context.js';
import type { NewRiskNotification } from './notifications.js';
import type { RiskAssessment } from './score.js';

export const SCORE_FORMULA = 'score = 1 - prod_i(1 - weight_i * feature_i)';

interface ActionState {
  /** at or above warning, notified */
  alerted: boolean;
  /** the engine wants its hold in place */
  wantHold: boolean;
  /** a hold the engine placed is in place */
  engineHold: boolean;
  /** revocation requested (or seen) */
  revoked: boolean;
  /** a reconcileHold is queued and has not started */
  reconcileQueued: boolean;
  chain: Promise<void>;
}

export function explain(a: RiskAssessment, cfg: TenantRiskConfig): RiskExplanation {
  return {
    serial: a.serial,
    ...(a.agentId !== undefined ? { agentId: a.agentId } : {}),
    ...(a.tenant !== undefined ? { tenant: a.tenant } : {}),
    at: a.at,
    score: a.value,
    band: a.band,
    thresholds: { ...cfg.thresholds },
    formula: SCORE_FORMULA,
    reasons: a.reasons,
  };
}

export class BandTransitions {
  private readonly states = new Map<string, ActionState>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly host: Pick<RiskHost, 'audit'>,
    private readonly actions: RiskActions,
    private readonly logError: (what: string, error: unknown) => void,
  ) {}

  private stateOf(serial: string): ActionState {
    let st = this.states.get(serial);
    if (!st)
      this.states.set(
        serial,
        (st = {
          alerted: false,
          wantHold: false,
          engineHold: false,
          revoked: false,
          reconcileQueued: false,
          chain: Promise.resolve(),
        }),
      );
    return st;
  }

  evaluate(ctx: CertificateContext, a: RiskAssessment, cfg: TenantRiskConfig, nowMs: number): void {
    if (ctx.state === 'revoked' || ctx.state === 'expired' || ctx.notAfterMs < nowMs) return;
    const st = this.stateOf(ctx.serial);
    if (st.revoked) return;
    const serial = ctx.serial;
    if (a.value < cfg.thresholds.warning) {
      st.alerted = false;
      if (st.wantHold || st.engineHold) {
        st.wantHold = false;
        this.queueReconcile(serial, st, explain(a, cfg));
      }
      return;
    }
    const willRevoke = cfg.autoRevoke && a.value >= cfg.thresholds.revoke;
    if (!st.alerted) {
      st.alerted = true;
      const hold = cfg.holdOnWarning && this.actions.hold !== undefined && ctx.state === 'good' && !willRevoke;
      const explanation = explain(a, cfg);
      this.enqueue(serial, 'warning', async () => {
        await this.host.audit.append({
          actor: RISK_ACTOR,
          action: 'risk.warning',
          subject: serial,
          details: { ...(a.agentId ? { agentId: a.agentId } : {}), score: a.value, explanation },
        });
        const n: NewRiskNotification = {
          kind: 'risk.warning',
          at: a.at,
          serial,
          ...(a.agentId !== undefined ? { agentId: a.agentId } : {}),
          ...(a.tenant !== undefined ? { tenant: a.tenant } : {}),
          score: a.value,
          band: a.band,
          thresholds: { warning: cfg.thresholds.warning, revoke: cfg.thresholds.revoke },
          ...(hold ? { action: 'hold' as const } : {}),
          reasons: a.reasons,
        };
        await this.actions.warn(n);
      });
      if (hold) {
        st.wantHold = true;
        this.queueReconcile(serial, st, explanation);
      }
    }
    if (willRevoke) {
      st.revoked = true;
      const explanation = explain(a, cfg);
      this.enqueue(serial, 'revoke', async () => {
        try {
          await this.actions.revoke(serial, explanation);
        } catch (e) {
          // Someone revoked it first: the goal is reached. Anything else: try again on the next evaluation.
          if (isAgentCaError(e) && e.is('REVOKE_ALREADY')) return;
          st.revoked = false;
          throw e;
        }
      });
    }
  }

  private queueReconcile(serial: string, st: ActionState, explanation: RiskExplanation): void {
    if (st.reconcileQueued) return; // the queued one reads wantHold when it runs
    st.reconcileQueued = true;
    this.enqueue(serial, st.wantHold ? 'hold' : 'release', () => this.reconcileHold(serial, st, explanation));
  }

  /** Brings the certificate's hold in line with what the engine wants (runs in the serial's chain). */
  private async reconcileHold(serial: string, st: ActionState, explanation: RiskExplanation): Promise<void> {
    st.reconcileQueued = false;
    if (st.revoked) return;
    if (st.wantHold && !st.engineHold && this.actions.hold) {
      await this.actions.hold(serial as Serial, explanation);
      st.engineHold = true;
    } else if (!st.wantHold && st.engineHold && this.actions.release) {
      await this.actions.release(serial as Serial, explanation);
      st.engineHold = false;
    }
  }

  private enqueue(serial: string, what: string, task: () => Promise<void>): void {
    const st = this.stateOf(serial);
    const p = st.chain.then(task).catch((e: unknown) => this.logError(`${what} for ${serial}`, e));
    st.chain = p;
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** certificate.revoked (by anyone): nothing more to do for it. */
  revoked(serial: string): void {
    const st = this.states.get(serial);
    if (st) st.revoked = true;
  }

  /** certificate.released: a human lifting the engine's hold is respected until warning is crossed again. */
  released(serial: string, actor: string): void {
    const st = this.states.get(serial);
    if (st && actor !== RISK_ACTOR) {
      st.engineHold = false;
      st.wantHold = false;
    }
  }

  /**
   * A batch another process logged (shared windows, engine.ts `shared`): the same state change
   * evaluate() makes, without acting; that process warns, holds or revokes.
   */
  observe(ctx: CertificateContext, a: RiskAssessment, cfg: TenantRiskConfig): void {
    const st = this.stateOf(ctx.serial);
    if (st.revoked) return;
    if (a.value < cfg.thresholds.warning) {
      st.alerted = false;
      st.wantHold = false;
      st.engineHold = false;
      return;
    }
    const willRevoke = cfg.autoRevoke && a.value >= cfg.thresholds.revoke;
    if (!st.alerted) {
      st.alerted = true;
      if (cfg.holdOnWarning && ctx.state === 'good' && !willRevoke) st.wantHold = st.engineHold = true;
    }
    if (willRevoke) st.revoked = true;
  }

  /** After a restart: what was already done, without re-notifying. */
  restore(serial: string, s: { alerted: boolean; revoked: boolean; engineHold: boolean }): void {
    const st = this.stateOf(serial);
    st.alerted = s.alerted;
    st.revoked = s.revoked;
    st.engineHold = s.engineHold;
    st.wantHold = s.engineHold && s.alerted;
  }

  /** Certificates whose score must be re-checked as time passes (alerted or under an engine hold). */
  watched(): string[] {
    return [...this.states].filter(([, st]) => st.alerted || st.wantHold || st.engineHold).map(([serial]) => serial);
  }

  /** Forgets certificates with nothing left to judge (`keep` false) and nothing pending. */
  forget(keep: (serial: string) => boolean): void {
    for (const [serial, st] of this.states) {
      if (!keep(serial) && !st.alerted && !st.wantHold && !st.engineHold && !st.reconcileQueued)
        this.states.delete(serial);
    }
  }

  /** Waits for every queued action (tests, graceful shutdown). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
