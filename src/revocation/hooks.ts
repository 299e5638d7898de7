/**
 * The in-process event bus shared by embedders and the risk engine (docs/architecture.md
 * RevocationHooks). Handlers run after the action has committed; a handler that throws or
 * rejects is logged and never undoes or blocks the action (nor the other handlers).
 */
import type { RevocationReason } from '../store/ports.js';
import type { Serial } from '../types.js';

export interface CertificateEventBase {
  serial: Serial;
  issuerId: string;
  agentId?: string;
  tenant?: string;
  at: Date;
  actor: string;
}

export interface HookEvents {
  'certificate.issued': CertificateEventBase & { notAfter: Date; profile: string };
  'certificate.revoked': CertificateEventBase & { reason: RevocationReason; invalidityDate?: Date; keyUri?: string };
  'certificate.held': CertificateEventBase;
  'certificate.released': CertificateEventBase;
  'certificate.renewed': CertificateEventBase & { renewalOf: Serial };
  'certificate.expiring': CertificateEventBase & { notAfter: Date };
}

export type HookName = keyof HookEvents;
export type HookHandler<K extends HookName> = (event: HookEvents[K]) => void | Promise<void>;

export interface HookErrorLogger {
  (hook: HookName, error: unknown): void;
}

export class HookBus {
  private readonly handlers = new Map<HookName, Set<HookHandler<HookName>>>();
  private readonly pending = new Set<Promise<void>>();
  constructor(
    private readonly logError: HookErrorLogger = (hook, e) =>
      process.stderr.write(`agent-ca: hook ${hook} failed: ${String((e as Error)?.stack ?? e)}\n`),
  ) {}

  /** Returns an unsubscribe function. */
  on<K extends HookName>(name: K, handler: HookHandler<K>): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as HookHandler<HookName>);
    return () => set.delete(handler as HookHandler<HookName>);
  }

  /** Fire and forget: handlers run on the next tick, each isolated from the others. */
  emit<K extends HookName>(name: K, event: HookEvents[K]): void {
    const set = this.handlers.get(name);
    if (!set || set.size === 0) return;
    for (const h of [...set]) {
      const p: Promise<void> = Promise.resolve()
        .then(() => h(event))
        .catch((e: unknown) => this.logError(name, e))
        .finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Wait for handlers already started (tests, graceful shutdown). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
