/**
 * AgentCaClient: what an agent process (or the service running it) uses. It talks to an
 * agent-ca server over HTTP and signs with the agent's own key; it imports no fastify, no
 * LevelDB, no store (test/unit/client/import-graph.test.ts keeps it so).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createActionEnvelope } from '../actions/sign.js';
import type { ActionAmount, ActionEnvelope } from '../actions/types.js';
import { pemOrDer, toPem } from '../asn1/pem.js';
import { systemClock, type Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import type { SignerContext } from '../signer/signer.js';
import { openAgentKey, type AgentKey } from './agent-key.js';
import { EventQueue } from './event-queue.js';
import { request, requestBytes, type HttpOptions } from './http.js';
import type {
  CertifyOptions,
  CertifyResult,
  ClientEvent,
  ComplianceReport,
  ComplianceReportRequest,
  RenewalInfo,
  RiskView,
  VerifyResult,
} from './types.js';

export interface AgentCaClientOptions {
  /** The agent-ca server, e.g. https://ca.example:8443 */
  url: string;
  /** Bearer token: an agent token for events/renewal/signing, an operator token to certify. */
  token?: string;
  agentId?: string;
  /** The agent's certificate, optionally followed by the intermediate (PEM). */
  certificate?: string;
  /** The agent's own key (awskms:/pkcs11: URI, PEM, KeyObject or Signer). */
  key?: AgentKey;
  /** How KMS/PKCS#11 keys are opened (AWS_* variables, PKCS#11 module); default process.env. */
  signerContext?: SignerContext;
  events?: Partial<{
    batchSize: number;
    maxQueue: number;
    flushIntervalMs: number;
    maxRetries: number;
    backoffMs: number;
    maxBackoffMs: number;
  }>;
  /** Told about event batches given up on (a 400 the server will never accept, or retries exhausted). */
  onEventsDropped?: (events: readonly Record<string, unknown>[], error: unknown) => void;
  timeoutMs?: number;
  clock?: Clock;
  fetch?: typeof fetch;
}

const splitPems = (pem: string): string[] =>
  pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

export class AgentCaClient {
  private readonly http: HttpOptions;
  private readonly clock: Clock;
  private readonly queue: EventQueue;
  private chainPem: string[] = [];
  private key: AgentKey | undefined;
  agentId: string | undefined;
  /** Serial of the certificate the client signs with now. */
  serial: string | undefined;

  constructor(private readonly opts: AgentCaClientOptions) {
    this.http = {
      baseUrl: opts.url,
      ...(opts.token ? { token: opts.token } : {}),
      timeoutMs: opts.timeoutMs ?? 15_000,
      fetch: opts.fetch ?? fetch,
    };
    this.clock = opts.clock ?? systemClock;
    this.agentId = opts.agentId;
    this.key = opts.key;
    if (opts.certificate) this.useCertificate(opts.certificate);
    const e = opts.events ?? {};
    this.queue = new EventQueue({
      batchSize: e.batchSize ?? 100,
      maxQueue: e.maxQueue ?? 10_000,
      flushIntervalMs: e.flushIntervalMs ?? 200,
      maxRetries: e.maxRetries ?? 8,
      backoffMs: e.backoffMs ?? 100,
      maxBackoffMs: e.maxBackoffMs ?? 10_000,
      send: async (batch) => {
        await request(this.http, 'POST', 'api/v1/events', { events: batch });
      },
      onDrop: opts.onEventsDropped ?? (() => undefined),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
  }

  private useCertificate(pem: string, chain?: string): void {
    const certs = splitPems(pem);
    if (certs.length === 0) throw new AgentCaError('INPUT_INVALID', 'certificate: no PEM certificate found');
    const extra = chain ? splitPems(chain).slice(1) : [];
    this.chainPem = [...certs, ...extra.filter((c) => !certs.includes(c))];
  }

  /** The certificate chain the client signs with (agent first), PEM. */
  get certificatePem(): string | undefined {
    return this.chainPem.length ? this.chainPem.join('\n') + '\n' : undefined;
  }

  /**
   * The user's one-call certification (operator token): registers the agent in the token's
   * tenant if new, certifies it and, when no key is given, has its key created in KMS. The
   * client then signs with that certificate and key.
   */
  async certify(o: CertifyOptions): Promise<CertifyResult> {
    const body = {
      agent_id: o.agentId ?? this.agentId,
      ...(o.organization !== undefined ? { organization: o.organization } : {}),
      ...(o.maxTransactionSizeUsd !== undefined ? { max_transaction_size_usd: o.maxTransactionSizeUsd } : {}),
      ...(o.allowedMarkets !== undefined ? { allowed_markets: o.allowedMarkets } : {}),
      ...(o.validityDays !== undefined ? { validity_days: o.validityDays } : {}),
      ...(o.scope !== undefined ? { scope: o.scope } : {}),
      ...(o.tenant !== undefined ? { tenant: o.tenant } : {}),
      ...(o.environment !== undefined ? { environment: o.environment } : {}),
      ...(o.modelHash !== undefined ? { model_hash: o.modelHash } : {}),
      ...(o.publicKeyPem !== undefined ? { public_key: o.publicKeyPem } : {}),
    };
    const { json } = await request<Record<string, unknown>>(this.http, 'POST', 'api/v1/agents/certify', body);
    const r: CertifyResult = {
      certificatePem: json.certificate_pem as string,
      chainPem: json.chain_pem as string,
      kmsKeyArn: (json.kms_key_arn as string | null) ?? null,
      keyUri: (json.key_uri as string | null) ?? null,
      serialNumber: json.serial_number as string,
      validUntil: json.valid_until as string,
      agentId: json.agent_id as string,
      tenant: json.tenant as string,
    };
    this.agentId = r.agentId;
    this.serial = r.serialNumber;
    this.useCertificate(r.chainPem);
    if (r.kmsKeyArn) this.key = { uri: `awskms:key-id=${r.kmsKeyArn}` };
    return r;
  }

  /**
   * Signs an action with the agent's own key: a JWS envelope (x5c chain) a counterparty checks
   * with verifyAction / `agent-ca verify-action`. Without a local key, the server signs with
   * the agent's CA-held KMS key (POST /api/v1/agents/{id}/sign, agent token).
   */
  async sign(a: {
    payload: string | Uint8Array;
    action: string;
    amount?: ActionAmount | string;
    market?: string;
    agentId?: string;
  }): Promise<ActionEnvelope> {
    const amount =
      typeof a.amount === 'string'
        ? (() => {
            const m = a.amount.match(/^([0-9]+(?:\.[0-9]+)?):([A-Z]{3})$/);
            if (!m)
              throw new AgentCaError(
                'INPUT_INVALID',
                `amount must look like 100.50:USD, got ${JSON.stringify(a.amount)}`,
              );
            return { value: m[1]!, currency: m[2]! };
          })()
        : a.amount;
    if (!this.key) {
      const id = a.agentId ?? this.requireAgent();
      const payload =
        typeof a.payload === 'string'
          ? { payload: a.payload }
          : { payload: Buffer.from(a.payload).toString('base64'), payloadEncoding: 'base64' };
      const { json } = await request<{ envelope: ActionEnvelope }>(
        this.http,
        'POST',
        `api/v1/agents/${encodeURIComponent(id)}/sign`,
        {
          ...payload,
          action: a.action,
          ...(amount ? { amount } : {}),
          ...(a.market !== undefined ? { market: a.market } : {}),
        },
      );
      return json.envelope;
    }
    if (this.chainPem.length === 0)
      throw new AgentCaError('INPUT_INVALID', 'no certificate: pass `certificate` or call certify() first');
    const { signer, owned } = await openAgentKey(this.key, this.opts.signerContext ?? {});
    try {
      return await createActionEnvelope({
        signer,
        chain: this.chainPem.map((p) => pemOrDer(p, ['CERTIFICATE'])),
        clock: this.clock,
        payload: a.payload,
        action: a.action,
        ...(amount ? { amount } : {}),
        ...(a.market !== undefined ? { market: a.market } : {}),
      });
    } finally {
      if (owned) await signer.close?.();
    }
  }

  /** Queues one event (snake_case as in the user's examples, or the server's camelCase). */
  recordEvent(e: ClientEvent): Promise<void> {
    return this.recordEvents([e]);
  }

  /** Queues events; resolves once they are queued (waits while the queue is full). */
  recordEvents(events: readonly ClientEvent[]): Promise<void> {
    return this.queue.push(events.map((e) => this.toServerEvent(e)));
  }

  private toServerEvent(e: ClientEvent): Record<string, unknown> {
    const meta = e.metadata ?? {};
    const agentId = e.agentId ?? e.agent_id ?? (e.serial === undefined ? this.agentId : undefined);
    const out: Record<string, unknown> = {
      ...(e.serial !== undefined ? { serial: e.serial } : {}),
      ...(agentId !== undefined ? { agentId } : {}),
      type: e.type ?? e.action_type,
      outcome: e.outcome ?? meta.outcome ?? 'success',
      time: e.time instanceof Date ? e.time.toISOString() : (e.time ?? this.clock.now().toISOString()),
    };
    for (const k of ['action', 'amount', 'currency', 'market'] as const) {
      const v = e[k] ?? meta[k];
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  /** Sends everything queued so far. */
  flushEvents(): Promise<void> {
    return this.queue.flush();
  }

  get eventStats(): { queued: number; sent: number; dropped: number } {
    return { queued: this.queue.size, sent: this.queue.sent, dropped: this.queue.dropped };
  }

  /** The public verification of a certificate (no token needed). */
  async verify(serial: string): Promise<VerifyResult> {
    return (
      await request<VerifyResult>({ ...this.http, token: '' }, 'GET', `api/v1/verify/${encodeURIComponent(serial)}`)
    ).json;
  }

  /** The same answer as a JWS signed by the OCSP responder key (compact serialization). */
  async verifyJws(serial: string): Promise<string> {
    return (
      await request<string>(
        { ...this.http, token: '' },
        'GET',
        `api/v1/verify/${encodeURIComponent(serial)}`,
        undefined,
        { accept: 'application/jose' },
      )
    ).json;
  }

  async risk(agentId?: string): Promise<RiskView> {
    return (
      await request<RiskView>(
        this.http,
        'GET',
        `api/v1/agents/${encodeURIComponent(agentId ?? this.requireAgent())}/risk`,
      )
    ).json;
  }

  async renewalInfo(): Promise<RenewalInfo> {
    return (
      await request<RenewalInfo>(
        this.http,
        'GET',
        `api/v1/agents/${encodeURIComponent(this.requireAgent())}/renewal-info`,
      )
    ).json;
  }

  /**
   * Renews inside the suggested window (or at once with `force`): a fresh key (P-256, in this
   * process; or a new KMS key when the current one is in KMS), the new certificate swapped in
   * only once issued, so signing never has a gap. `observed` is what the agent runs now
   * (model hash, scope): the server refuses a renewal that drifted from the registration.
   */
  async autoRenew(
    o: {
      force?: boolean;
      observed?: { modelHash?: { algorithm: string; digest: string }; scope?: string[] };
      validityDays?: number;
    } = {},
  ): Promise<{ renewed: boolean; serial?: string; window: RenewalInfo['suggestedWindow'] }> {
    const info = await this.renewalInfo();
    if (!o.force && this.clock.now().getTime() < Date.parse(info.suggestedWindow.start))
      return { renewed: false, window: info.suggestedWindow };
    const inKms = this.key !== undefined && 'uri' in this.key && this.key.uri.startsWith('awskms:');
    let next: { key?: AgentKey; body: Record<string, unknown> };
    if (inKms || this.key === undefined) next = { body: { createKeyIn: 'awskms' } };
    else {
      const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      next = {
        key: pair.privateKey,
        body: { publicKey: toPem(pair.publicKey.export({ format: 'der', type: 'spki' }), 'PUBLIC KEY') },
      };
    }
    const { json } = await request<{ serial: string; certificate: string; chain: string; keyUri?: string }>(
      this.http,
      'POST',
      `api/v1/agents/${encodeURIComponent(this.requireAgent())}/renew`,
      {
        ...next.body,
        ...(o.validityDays !== undefined ? { validityDays: o.validityDays } : {}),
        ...(o.observed ? { observed: o.observed } : {}),
      },
    );
    // Swap: certificate and key together, after the new certificate exists.
    this.useCertificate(json.chain);
    if (next.key) this.key = next.key;
    else if (json.keyUri && this.key !== undefined) this.key = { uri: json.keyUri };
    this.serial = json.serial;
    return { renewed: true, serial: json.serial, window: info.suggestedWindow };
  }

  /**
   * A compliance report for regulator submission (auditor or admin token): asks the server to
   * build it, waits for it (polling, bounded by `waitMs`), and returns the PDF and the signed
   * evidence package (`agent-ca report verify` checks the latter offline).
   */
  async complianceReport(r: ComplianceReportRequest): Promise<ComplianceReport> {
    const body = {
      ...('tenant' in r && r.tenant !== undefined
        ? { tenant: r.tenant }
        : { agent_id: r.agent_id ?? this.requireAgent() }),
      start_date: r.start_date,
      end_date: r.end_date,
      ...(r.include ? { include: r.include } : {}),
    };
    const { json: job } = await request<{ id: string; status: string }>(
      this.http,
      'POST',
      'api/v1/reports/compliance',
      body,
    );
    const deadline = this.clock.now().getTime() + (r.waitMs ?? 120_000);
    let status = job.status;
    while (status !== 'done') {
      if (status === 'failed') {
        const { json } = await request<{ error?: { code: string; message: string } }>(
          this.http,
          'GET',
          `api/v1/reports/${job.id}`,
        );
        throw new AgentCaError('INTERNAL', `report ${job.id} failed: ${json.error?.message ?? 'unknown error'}`, {
          reportId: job.id,
        });
      }
      if (this.clock.now().getTime() > deadline)
        throw new AgentCaError(
          'REPORT_NOT_READY',
          `report ${job.id} is still ${status}; fetch it later with GET /api/v1/reports/${job.id}`,
          { reportId: job.id },
        );
      await new Promise((resolve) => setTimeout(resolve, r.pollMs ?? 250));
      status = (await request<{ status: string }>(this.http, 'GET', `api/v1/reports/${job.id}`)).json.status;
    }
    const [pdf, evidence] = await Promise.all([
      requestBytes(this.http, 'GET', `api/v1/reports/${job.id}/report.pdf`),
      requestBytes(this.http, 'GET', `api/v1/reports/${job.id}/evidence.zip`),
    ]);
    return { id: job.id, pdf: pdf.bytes, evidenceZip: evidence.bytes };
  }

  /** Flushes the event queue and stops its timer. */
  close(): Promise<void> {
    return this.queue.close();
  }

  private requireAgent(): string {
    if (!this.agentId)
      throw new AgentCaError('INPUT_INVALID', 'no agentId: pass it to the client or call certify() first');
    return this.agentId;
  }
}
