/**
 * Schemas of the public routes: health, CA certificates, CRLs, OCSP, the public verify
 * answer, and the revocation stream (bearer). Binary answers are documented by media type.
 */
import { Type } from 'typebox';
import { AnyJson, NameParams, Nullable, Open, Serial, SerialParams, Strict, Time, binary, route } from './common.js';

const NOT_MODIFIED = { description: 'Not modified (If-None-Match matched the ETag).', type: 'null' };

/** OCSP errors are OCSP DER too (RFC 6960 §2.3 malformedRequest), never problem+json. */
function ocspRoute(summary: string, extra: Record<string, unknown>): Record<string, unknown> {
  const base = route({ summary, tags: ['ocsp'], response: {} });
  return {
    ...base,
    ...extra,
    description:
      'RFC 6960 OCSP, RFC 5019 profile. Every answer is `application/ocsp-response` with status 200, bad input included (malformedRequest, RFC 6960 §2.3); GET answers carry cache headers from the response (RFC 5019 §6.2).',
    response: {
      200: binary('An OCSP response (DER).', 'application/ocsp-response'),
      304: NOT_MODIFIED,
    },
  };
}

export const schemas = {
  healthz: route({
    summary: 'Liveness: the process answers',
    tags: ['health'],
    response: { 200: Open({ status: Type.Literal('ok') }) },
  }),
  readyz: route({
    summary: 'Readiness: CA loaded, store answering, every CRL publication succeeding',
    tags: ['health'],
    response: { 200: Open({ status: Type.Literal('ready') }) },
    errors: [503],
  }),
  metrics: route({
    summary: 'Prometheus metrics',
    tags: ['health'],
    response: {
      200: {
        description: 'Prometheus text exposition format.',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  }),
  caCertificate: route({
    summary: 'A CA certificate, the AIA caIssuers target (root or intermediate; .cer/.der/.crt DER, .pem PEM)',
    tags: ['ca'],
    params: NameParams,
    response: { 200: binary('The certificate.', 'application/pkix-cert', 'application/x-pem-file') },
    errors: [404],
  }),
  crl: route({
    summary: 'A CRL the certificates name: {root,intermediate}{,-delta}.{crl,pem}',
    tags: ['crl'],
    params: NameParams,
    response: {
      200: binary(
        'The CRL (DER, or PEM for .pem / Accept: application/x-pem-file).',
        'application/pkix-crl',
        'application/x-pem-file',
      ),
      304: NOT_MODIFIED,
    },
    errors: [404, 503],
  }),
  verify: route({
    summary: 'Public verification of an agent certificate (JSON, or a JWS for Accept: application/jose)',
    tags: ['verify'],
    params: SerialParams,
    response: {
      200: {
        description: "The certificate's claims and status now.",
        content: {
          'application/json': {
            schema: Open({
              serial: Serial,
              subject: Type.String(),
              operator: Nullable(Type.String()),
              agentId: Nullable(Type.String()),
              scope: Type.Array(Type.String()),
              policy: AnyJson,
              modelHash: AnyJson,
              tenant: Nullable(Type.String()),
              environment: Nullable(Type.String()),
              status: Type.String(),
              checkedAt: Type.Optional(Time()),
            }),
          },
          'application/jose': { schema: { type: 'string', description: 'JWS compact serialisation' } },
        },
      },
      304: NOT_MODIFIED,
    },
    errors: [404],
  }),
  ocspPost: ocspRoute('OCSP request (POST, DER body)', {
    body: { content: { 'application/ocsp-request': { schema: { type: 'string', format: 'binary' } } } },
  }),
  ocspGet: ocspRoute('OCSP request (GET, URL-encoded base64 DER, RFC 6960 Appendix A.1)', {
    params: Strict({ '*': Type.String({ description: 'url-encoding of the base64 DER OCSPRequest' }) }),
  }),
  revocationStream: route({
    summary: 'Server-sent events: every revocation, hold, release as it commits (resumable)',
    tags: ['revocation'],
    roles: ['admin', 'operator', 'auditor'],
    querystring: Type.Object({
      after: Type.Optional(Type.String({ description: 'resume after this change sequence number' })),
    }),
    headers: Type.Object({ 'last-event-id': Type.Optional(Type.String()) }),
    response: {
      200: { description: 'An event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
    },
  }),
};
