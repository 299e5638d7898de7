/**
 * Webhook endpoints: where events go and the secret each delivery is signed with.
 * The list is small (admins register a handful of receivers), so it lives in ONE store meta
 * key and each change rewrites it under an in-process mutex. Secrets are stored as issued:
 * unlike admin tokens they cannot be hashed, because the CA needs them to compute the HMAC.
 */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import { AgentCaError } from '../errors.js';
import type { Store } from '../store/ports.js';
import { Mutex } from '../store/mutex.js';
import { isWebhookEventType, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './events.js';

export const WEBHOOK_ENDPOINTS_KEY = 'webhooks:endpoints';
/** Keeps the single meta value small and a misconfigured script from flooding receivers. */
export const MAX_WEBHOOK_ENDPOINTS = 100;
const MAX_URL_LENGTH = 2048;
/** During rotation the old secret still signs (a second v1=) for this long by default. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600;

export interface WebhookEndpoint {
  id: string;
  url: string;
  secret: string;
  events: WebhookEventType[];
  createdAt: string;
  /** A tenant's endpoint gets only that tenant's events (docs/tenancy.md); none: every event (admin). */
  tenant?: string;
  /** The secret replaced by rotateSecret(), still used to sign until previousSecretExpiresAt. */
  previousSecret?: string;
  previousSecretExpiresAt?: string;
}

/** What list() and the HTTP API show: never a secret. */
export interface WebhookEndpointView {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: string;
  tenant?: string;
  previousSecretExpiresAt?: string;
}

export interface RegisterWebhookInput {
  url: unknown;
  events?: unknown;
  /** Set by the caller from the token, never from the body. */
  tenant?: string;
}

export interface RegisteredWebhook extends WebhookEndpointView {
  /** Shown once: `whsec_` + 32 random bytes, base64url. */
  secret: string;
}

export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

const invalid = (field: string, message: string): AgentCaError =>
  new AgentCaError('INPUT_INVALID', `${field} ${message}`, { fields: { [field]: message } });

/** http(s) only, no userinfo (it would be logged and sent in clear to every proxy), no fragment. */
export function validateWebhookUrl(input: unknown): string {
  if (typeof input !== 'string' || input.length === 0) throw invalid('url', 'must be a non-empty string');
  if (input.length > MAX_URL_LENGTH) throw invalid('url', `must be at most ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    throw invalid('url', 'must be an absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid('url', 'must use http or https');
  if (u.username !== '' || u.password !== '')
    throw invalid(
      'url',
      'must not contain credentials (user:password@); receivers authenticate deliveries by their signature',
    );
  if (u.hostname === '') throw invalid('url', 'must name a host');
  if (u.hash !== '' || input.includes('#')) throw invalid('url', 'must not contain a fragment');
  return u.toString();
}

export function validateWebhookEvents(input: unknown): WebhookEventType[] {
  if (input === undefined) return [...WEBHOOK_EVENT_TYPES];
  if (!Array.isArray(input) || input.length === 0)
    throw invalid('events', `must be a non-empty array of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  const out: WebhookEventType[] = [];
  for (const e of input) {
    if (!isWebhookEventType(e))
      throw invalid('events', `has unknown event ${JSON.stringify(e)} (known: ${WEBHOOK_EVENT_TYPES.join(', ')})`);
    if (!out.includes(e)) out.push(e);
  }
  return out;
}

export function endpointView(e: WebhookEndpoint): WebhookEndpointView {
  return {
    id: e.id,
    url: e.url,
    events: [...e.events],
    createdAt: e.createdAt,
    ...(e.tenant !== undefined ? { tenant: e.tenant } : {}),
    ...(e.previousSecretExpiresAt ? { previousSecretExpiresAt: e.previousSecretExpiresAt } : {}),
  };
}

/** The secrets a delivery is signed with at `now`: current first, then the previous one while its grace lasts. */
export function signingSecrets(e: WebhookEndpoint, now: Date): string[] {
  const out = [e.secret];
  if (e.previousSecret && e.previousSecretExpiresAt && Date.parse(e.previousSecretExpiresAt) > now.getTime())
    out.push(e.previousSecret);
  return out;
}

export class WebhookRegistry {
  private readonly mutex = new Mutex();
  private readonly clock: Clock;
  constructor(
    private readonly store: Store,
    opts: { clock?: Clock } = {},
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  private async load(): Promise<WebhookEndpoint[]> {
    return (await this.store.meta.get<WebhookEndpoint[]>(WEBHOOK_ENDPOINTS_KEY)) ?? [];
  }

  async register(input: RegisterWebhookInput): Promise<RegisteredWebhook> {
    const url = validateWebhookUrl(input.url);
    const events = validateWebhookEvents(input.events);
    return this.mutex.run(async () => {
      const all = await this.load();
      if (all.length >= MAX_WEBHOOK_ENDPOINTS)
        throw new AgentCaError('INPUT_INVALID', `at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints; delete one first`);
      const endpoint: WebhookEndpoint = {
        id: `wh_${randomBytes(12).toString('base64url')}`,
        url,
        secret: newWebhookSecret(),
        events,
        createdAt: this.clock.now().toISOString(),
        ...(input.tenant !== undefined ? { tenant: input.tenant } : {}),
      };
      all.push(endpoint);
      await this.store.meta.put(WEBHOOK_ENDPOINTS_KEY, all, { sync: true });
      return { ...endpointView(endpoint), secret: endpoint.secret };
    });
  }

  async list(): Promise<WebhookEndpointView[]> {
    return (await this.load()).map(endpointView);
  }

  /** With its secrets: for the dispatcher only. */
  async get(id: string): Promise<WebhookEndpoint | undefined> {
    return (await this.load()).find((e) => e.id === id);
  }

  /** Endpoints subscribed to `type`, with secrets. */
  /** Endpoints for an event of `tenant`: tenant-less (admin) endpoints, and that tenant's own. */
  async subscribers(type: WebhookEventType, tenant?: string | null): Promise<WebhookEndpoint[]> {
    return (await this.load()).filter(
      (e) => e.events.includes(type) && (e.tenant === undefined || e.tenant === tenant),
    );
  }

  /** False when no such endpoint. Its pending deliveries are dropped by the dispatcher when due. */
  async delete(id: string): Promise<boolean> {
    return this.mutex.run(async () => {
      const all = await this.load();
      const rest = all.filter((e) => e.id !== id);
      if (rest.length === all.length) return false;
      await this.store.meta.put(WEBHOOK_ENDPOINTS_KEY, rest, { sync: true });
      return true;
    });
  }

  /**
   * A new secret, returned once; the old one keeps signing (a second v1= value) for
   * `graceSeconds` so receivers can switch without dropping a delivery.
   */
  async rotateSecret(id: string, opts: { graceSeconds?: number } = {}): Promise<RegisteredWebhook | undefined> {
    const grace = opts.graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS;
    if (!Number.isFinite(grace) || grace < 0) throw invalid('graceSeconds', 'must be a non-negative number');
    return this.mutex.run(async () => {
      const all = await this.load();
      const e = all.find((x) => x.id === id);
      if (!e) return undefined;
      e.previousSecret = e.secret;
      e.previousSecretExpiresAt = new Date(this.clock.now().getTime() + grace * 1000).toISOString();
      e.secret = newWebhookSecret();
      await this.store.meta.put(WEBHOOK_ENDPOINTS_KEY, all, { sync: true });
      return { ...endpointView(e), secret: e.secret };
    });
  }
}
