/** gateway: print a working mTLS configuration for a gateway in front of agents (src/gateway/snippets.ts). */
import { GATEWAYS, gatewayConfig, type GatewayKind, type RevocationMode } from '../../gateway/snippets.js';
import { parse, UsageError, type Io } from '../args.js';

export const gatewayUsage =
  'agent-ca gateway nginx|apache|haproxy|envoy [--mode ocsp|crl|both] [--ca-url URL] [--listen PORT] [--server-cert FILE] [--server-key FILE] [--chain FILE] [--crl-file FILE] [--upstream URL]';

export async function gatewayCommand(argv: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(
    argv,
    {
      mode: { type: 'string' },
      'ca-url': { type: 'string' },
      listen: { type: 'string' },
      'server-cert': { type: 'string' },
      'server-key': { type: 'string' },
      chain: { type: 'string' },
      'crl-file': { type: 'string' },
      upstream: { type: 'string' },
    },
    true,
  );
  const kind = positionals[0] as GatewayKind | undefined;
  if (!kind || !GATEWAYS.includes(kind) || positionals.length > 1)
    throw new UsageError(`name one gateway: ${GATEWAYS.join(', ')}`);
  // HAProxy and Envoy have no OCSP check for client certificates.
  const mode = (v.mode ?? (kind === 'haproxy' || kind === 'envoy' ? 'crl' : 'ocsp')) as RevocationMode;
  if (!['ocsp', 'crl', 'both'].includes(mode)) throw new UsageError('--mode must be ocsp, crl or both');
  if ((kind === 'haproxy' || kind === 'envoy') && mode !== 'crl')
    throw new UsageError(`${kind} checks client certificates against CRLs only: --mode crl`);
  const caUrl = (v['ca-url'] ?? io.env.AGENT_CA_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  try {
    if (!['http:', 'https:'].includes(new URL(caUrl).protocol)) throw new Error('not http(s)');
    if (v.upstream) new URL(v.upstream);
  } catch {
    throw new UsageError('--ca-url and --upstream must be http(s) URLs');
  }
  const listen = v.listen ?? '443';
  if (!/^[0-9]{1,5}$/.test(listen) || Number(listen) < 1 || Number(listen) > 65535)
    throw new UsageError('--listen must be a port number');
  const etc = kind === 'nginx' ? '/etc/nginx' : kind === 'apache' ? '/etc/apache2' : `/etc/${kind}`;
  io.out(
    gatewayConfig(kind, {
      caUrl,
      mode,
      listen,
      serverCert: v['server-cert'] ?? `${etc}/tls/server.pem`,
      serverKey: v['server-key'] ?? `${etc}/tls/server.key`,
      chainFile: v.chain ?? `${etc}/agent-ca/chain.pem`,
      crlFile: v['crl-file'] ?? `${etc}/agent-ca/agents.crl`,
      upstream: v.upstream ?? 'http://127.0.0.1:8000',
    }).trimEnd(),
  );
  return 0;
}
