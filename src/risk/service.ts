/**
 * The risk engine wired to an Authority for the server: warnings go to the notifications inbox
 * and out as `risk.warning` webhooks; revocation goes through the authority (so OCSP and CRLs
 * follow like any other revocation); windows are rebuilt from the audit log at start.
 * Config: `<dataDir>/risk-config.json` or $AGENT_CA_RISK_CONFIG (format in src/risk/README.md).
 * On PostgreSQL, where several server processes share one store, the windows are shared
 * through the audit log (engine.ts `shared`, docs/risk-engine.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentCaError } from '../errors.js';
import { logFailure } from '../logger.js';
import type { WebhookService } from '../webhooks/service.js';
import { authorityRiskActions, type RevokingAuthority } from './actions.js';
import { parseRiskConfig, type RiskConfig } from './config.js';
import type { RiskHost } from './context.js';
import { RiskEngine } from './engine.js';
import { NotificationInbox } from './notifications.js';

export interface RiskService {
  engine: RiskEngine;
  inbox: NotificationInbox;
  config: RiskConfig;
  stop(): Promise<void>;
}

/** The slice of an Authority the risk service uses (an Authority satisfies it). */
export interface RiskServiceHost extends RiskHost, RevokingAuthority {
  /** Where risk-config.json is looked for. */
  readonly dataDir: string;
}

export function loadRiskConfig(dataDir: string, env: Readonly<Record<string, string | undefined>>): RiskConfig {
  const path = env.AGENT_CA_RISK_CONFIG ?? join(dataDir, 'risk-config.json');
  if (!existsSync(path)) {
    if (env.AGENT_CA_RISK_CONFIG)
      throw new AgentCaError('CONFIG_INVALID', `AGENT_CA_RISK_CONFIG points at ${path}, which does not exist`);
    return parseRiskConfig();
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AgentCaError('CONFIG_INVALID', `${path}: ${(e as Error).message}`);
  }
  return parseRiskConfig(raw);
}

export async function startRiskService(
  authority: RiskServiceHost,
  opts: {
    webhooks?: WebhookService;
    config?: RiskConfig;
    reassessEveryMs?: number;
    /** Windows shared with peer processes through the audit log; default: on for PostgreSQL. */
    shared?: boolean;
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): Promise<RiskService> {
  const config = opts.config ?? loadRiskConfig(authority.dataDir, opts.env ?? process.env);
  const inbox = await NotificationInbox.open(authority.store);
  const actions = authorityRiskActions(authority, inbox, {
    onWarning: async (n) => {
      await opts.webhooks?.publish('risk.warning', n as unknown as Record<string, unknown>);
    },
  });
  const engine = new RiskEngine({
    host: authority,
    actions,
    config,
    shared: opts.shared ?? authority.store.kind === 'postgres',
  });
  await engine.restore();
  engine.startReassessing(opts.reassessEveryMs ?? 60_000);
  return {
    engine,
    inbox,
    config,
    async stop() {
      engine.stopReassessing();
      await engine.settle();
      // A snapshot left behind is never read (the next start rebuilds from the audit log): a
      // failure here only leaves garbage in the store's meta, so it is logged, not thrown.
      await engine.discardEvicted().catch(logFailure('risk engine: deleting the evicted windows'));
    },
  };
}
