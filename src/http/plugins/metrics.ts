/** Prometheus metrics (prom-client), one registry per app so embedders can mount their own. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CrlService } from '../../crl/service.js';

export class CaMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'agent_ca_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    registers: [this.registry],
  });
  readonly ocspResponses = new Counter({
    name: 'agent_ca_ocsp_responses_total',
    help: 'OCSP responses by source (precomputed/live/error) and responseStatus',
    labelNames: ['source', 'status'],
    registers: [this.registry],
  });
  readonly signingSeconds = new Histogram({
    name: 'agent_ca_signing_seconds',
    help: 'Time to sign an artifact',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly revocationVisibility = new Histogram({
    name: 'agent_ca_revocation_to_ocsp_visibility_seconds',
    help: 'From a revocation being decided to its OCSP response being servable',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 60],
    registers: [this.registry],
  });
  readonly crlPublishFailures = new Counter({
    name: 'agent_ca_crl_publish_failures_total',
    help: 'CRL publications that failed, by issuer and kind',
    labelNames: ['issuer', 'kind'],
    registers: [this.registry],
  });
  private crls: CrlService | undefined;
  readonly crlPublishFailing = new Gauge({
    name: 'agent_ca_crl_publish_failing',
    help: '1 while the latest publication of this CRL failed (alert on it)',
    labelNames: ['issuer', 'kind'],
    registers: [this.registry],
    collect: () => {
      if (!this.crls) return;
      this.crlPublishFailing.reset();
      for (const p of this.crls.publishProblems()) this.crlPublishFailing.set({ issuer: p.issuerId, kind: p.kind }, 1);
    },
  });
  /** Counts and exposes the CRL service's publication failures. */
  watchCrls(crls: CrlService): void {
    if (this.crls === crls) return;
    this.crls = crls;
    crls.onPublishFailure((p) => this.crlPublishFailures.inc({ issuer: p.issuerId, kind: p.kind }));
  }
  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'agent_ca_' });
  }
}
