/**
 * The one option table `init` and `start` share (docs/cli-and-package.md, "Setup"): what a new
 * CA is made with, and where it listens. Without --base-url the CRL DP and AIA URLs written into
 * every certificate follow --host/--port, so counterparties reach the server that was started.
 */
import type { InitOptions } from '../../authority/authority.js';
import type { CaConfig } from '../../profile/config.js';
import { list, positiveInt, UsageError, type Io } from '../args.js';
import { parseKeyType, parseKeyUris } from './init.js';

export const listenOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
} as const;

export const caOptions = {
  org: { type: 'string' },
  'key-type': { type: 'string' },
  'base-url': { type: 'string' },
  'agent-domain': { type: 'string', multiple: true },
  country: { type: 'string' },
  'max-agent-days': { type: 'string' },
  signer: { type: 'string' },
  'pkcs11-module': { type: 'string' },
  'pkcs11-token': { type: 'string' },
  'key-uri': { type: 'string', multiple: true },
  'responder-signer': { type: 'string' },
  ...listenOptions,
  data: { type: 'string' },
} as const;

export interface CaOptionValues {
  org?: string | undefined;
  'key-type'?: string | undefined;
  'base-url'?: string | undefined;
  'agent-domain'?: string[] | undefined;
  country?: string | undefined;
  'max-agent-days'?: string | undefined;
  signer?: string | undefined;
  'pkcs11-module'?: string | undefined;
  'pkcs11-token'?: string | undefined;
  'key-uri'?: string[] | undefined;
  'responder-signer'?: string | undefined;
  port?: string | undefined;
  host?: string | undefined;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';

/** --port as a number (0 = any free port), or undefined when not given. */
export function parsePort(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535)
    throw new UsageError(`--port must be 0..65535, got ${JSON.stringify(v)}`);
  return Number(v);
}

/**
 * The base URL when --base-url is not given: http://HOST:PORT of where the server will listen.
 * A wildcard host (0.0.0.0, ::) names no reachable address, so loopback stands in (the banner
 * then says which URL the certificates carry); port 0 (any free port) cannot be known yet.
 */
export function baseUrlFor(host: string | undefined, port: number | undefined): string {
  const h = host === undefined || host === '0.0.0.0' || host === '::' || host === '' ? DEFAULT_HOST : host;
  const p = port === undefined || port === 0 ? DEFAULT_PORT : port;
  return `http://${h.includes(':') ? `[${h}]` : h}:${p}`;
}

function checkBaseUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UsageError(`--base-url must be an http(s) URL, got ${JSON.stringify(v)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`--base-url must be an http(s) URL, got ${JSON.stringify(v)}`);
  return v.replace(/\/+$/, '');
}

const SIGNERS = ['softkey', 'awskms', 'pkcs11'];

/** Flags -> the environment the keys are made under and the Authority.init() options. */
export function caInitFromFlags(
  v: CaOptionValues,
  io: Io,
): { env: Record<string, string | undefined>; init: InitOptions & { config: Partial<CaConfig> } } {
  const keyType = parseKeyType(v['key-type']);
  const domains = list(v['agent-domain']);
  const signer = v.signer ?? 'softkey';
  if (!SIGNERS.includes(signer)) throw new UsageError('--signer must be softkey, awskms or pkcs11');
  const responderSigner = v['responder-signer'];
  if (responderSigner !== undefined && !SIGNERS.includes(responderSigner))
    throw new UsageError('--responder-signer must be softkey, awskms or pkcs11');
  if ((signer === 'pkcs11' || responderSigner === 'pkcs11') && !v['pkcs11-token'] && !io.env.AGENT_CA_PKCS11_TOKEN)
    throw new UsageError('--signer pkcs11 needs --pkcs11-token LABEL (PIN from AGENT_CA_PKCS11_PIN)');
  const keys = parseKeyUris(v['key-uri']);
  const maxDays = positiveInt(v['max-agent-days'], '--max-agent-days');
  const baseUrl = v['base-url'] !== undefined ? checkBaseUrl(v['base-url']) : baseUrlFor(v.host, parsePort(v.port));
  // The PKCS#11 module and token become part of every key URI made, so later opens need no flags.
  const env = {
    ...io.env,
    ...(v['pkcs11-module'] ? { AGENT_CA_PKCS11_MODULE: v['pkcs11-module'] } : {}),
    ...(v['pkcs11-token'] ? { AGENT_CA_PKCS11_TOKEN: v['pkcs11-token'] } : {}),
    ...((signer === 'pkcs11' || responderSigner === 'pkcs11') &&
    !io.env.AGENT_CA_PKCS11_PIN_SOURCE &&
    io.env.AGENT_CA_PKCS11_PIN
      ? { AGENT_CA_PKCS11_PIN_SOURCE: 'env:AGENT_CA_PKCS11_PIN' }
      : {}),
  };
  return {
    env,
    init: {
      signer,
      ...(responderSigner ? { responderSigner } : {}),
      ...(keys ? { keys } : {}),
      actor: 'cli',
      config: {
        ...(v.org ? { organization: v.org } : {}),
        baseUrl,
        ...(domains ? { agentDomains: domains } : {}),
        ...(v.country ? { country: v.country } : {}),
        ...(maxDays !== undefined ? { maxAgentValidityDays: maxDays } : {}),
        ...(keyType ? { keyType } : {}),
      },
      ...(keyType ? { keyType } : {}),
    },
  };
}

/** The CA options the user gave explicitly (listen options and --data excluded). */
export function givenCaFlags(v: CaOptionValues): string[] {
  return (Object.keys(caOptions) as (keyof typeof caOptions)[])
    .filter((k) => k !== 'port' && k !== 'host' && k !== 'data')
    .filter((k) => v[k as keyof CaOptionValues] !== undefined)
    .map((k) => `--${k}`);
}
