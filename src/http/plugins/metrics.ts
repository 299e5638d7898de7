/** Prometheus metrics (prom-client), one registry per app so embedders can mount their own. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class CaMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'agent_ca_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [this.registry] });
  readonly ocspResponses = new Counter({ name: 'agent_ca_ocsp_responses_total', help: 'OCSP responses by source (precomputed/live/error) and responseStatus', labelNames: ['source', 'status'], registers: [this.registry] });
  readonly signingSeconds = new Histogram({ name: 'agent_ca_signing_seconds', help: 'Time to sign an artifact', labelNames: ['kind'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  readonly revocationVisibility = new Histogram({
    name: 'agent_ca_revocation_to_ocsp_visibility_seconds',
    help: 'From a revocation being decided to its OCSP response being servable',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 60],
    registers: [this.registry],
  });
  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'agent_ca_' });
  }
}
