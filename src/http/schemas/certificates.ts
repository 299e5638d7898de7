/** Schemas of the certificate API (src/http/routes/admin.ts) and the pieces agent requests share. */
import { Type } from 'typebox';
import { KEY_TYPES } from '../../types.js';
import { Nullable, Open, Serial, SerialParams, Strict, Time, route, NameParams, AnyJson } from './common.js';

const TAGS = ['certificates'];
const WRITERS = ['admin', 'operator'] as const;
const READERS = ['admin', 'operator', 'auditor', 'agent'] as const;

export const Money = Strict(
  {
    amount: Type.String({ description: 'decimal amount, e.g. "50000" or "0.25"' }),
    currency: Type.String({ description: 'ISO 4217 code, e.g. USD' }),
  },
  'a monetary amount',
);

export const Policy = Strict(
  {
    maxTransactionSize: Type.Optional(Money),
    allowedMarkets: Type.Optional(Type.Array(Type.String(), { description: 'e.g. EUR_USD' })),
    revocationTimeoutSeconds: Type.Optional(Type.Number({ description: 'an integer, 0 or more' })),
  },
  'the agent policy extension (asn1/agent-ca.asn1): limits a verifier enforces',
);

export const ModelHash = Strict(
  {
    algorithm: Type.String({ description: 'sha256, sha384 or sha512' }),
    digest: Type.String({ description: 'hex' }),
  },
  "the model's digest, hex",
);

const StringList = Type.Array(Type.String());
export const KeyType = Type.String({ description: KEY_TYPES.join(', ') });
export const CreateKeyIn = Type.String({ description: 'awskms or pkcs11: the CA creates the key there' });

export const IssueBody = Strict({
  agentId: Type.String(),
  csr: Type.Optional(Type.String({ description: 'PEM PKCS#10; exactly one of csr, publicKey, createKeyIn' })),
  publicKey: Type.Optional(Type.String({ description: 'PEM SubjectPublicKeyInfo' })),
  createKeyIn: Type.Optional(CreateKeyIn),
  keyType: Type.Optional(KeyType),
  organization: Type.Optional(Type.String()),
  dnsNames: Type.Optional(StringList),
  uris: Type.Optional(StringList),
  scope: Type.Optional(StringList),
  policy: Type.Optional(Policy),
  modelHash: Type.Optional(ModelHash),
  tenant: Type.Optional(Type.String()),
  environment: Type.Optional(Type.String()),
  instanceId: Type.Optional(Type.String()),
  validityDays: Type.Optional(Type.Number({ description: 'a positive integer' })),
  validitySeconds: Type.Optional(Type.Number({ description: 'an integer of at least 60 (instead of validityDays)' })),
  profile: Type.Optional(Type.String()),
});

export const Issued = Open({
  serial: Serial,
  certificate: Type.String({ description: 'PEM' }),
  chain: Type.String({ description: 'PEM: this certificate, then the intermediate' }),
  notBefore: Time(),
  notAfter: Time(),
  warnings: Type.Array(AnyJson),
});

/** A certificate as GET /api/v1/certificates/{serial} shows it (src/authority/view-json.ts). */
export const CertificateView = Open({
  serial: Serial,
  status: Type.String({ description: 'good, revoked, held or expired' }),
  reason: Type.Optional(Type.String()),
  revokedAt: Type.Optional(Time()),
  invalidityDate: Type.Optional(Time()),
  agentId: Nullable(Type.String()),
  tenant: Nullable(Type.String()),
  profile: Type.String(),
  subject: Type.String(),
  issuer: Type.String(),
  notBefore: Time(),
  notAfter: Time(),
  issuedAt: Time(),
  certificate: Type.Optional(AnyJson),
});

const RevokeBody = Strict({
  // Typed by the route: a reason that is not a known name answers ACA_ERR_INPUT_REASON_UNKNOWN.
  reason: Type.Optional(Type.Unknown({ description: 'RFC 5280 reason name (a string), e.g. keyCompromise' })),
  invalidityDate: Type.Optional(Type.Unknown({ description: 'RFC 3339 time, e.g. 2026-01-31T12:00:00Z' })),
});
const StatusAnswer = Open({ serial: Serial, status: Type.String(), revokedAt: Type.Optional(Time()) });
const CaStatusAnswer = Open({ ca: Type.String(), status: Type.String() });

export const schemas = {
  issue: route({
    summary: 'Issue an agent certificate',
    tags: TAGS,
    roles: WRITERS,
    body: IssueBody,
    response: { 201: Issued },
    errors: [404, 409, 422, 429, 503],
  }),
  revoke: route({
    summary: 'Revoke an agent certificate (returns once its OCSP answers are re-signed)',
    tags: TAGS,
    roles: WRITERS,
    params: SerialParams,
    body: RevokeBody,
    response: { 200: StatusAnswer },
    errors: [404, 409],
  }),
  hold: route({
    summary: 'Put an agent certificate on hold',
    tags: TAGS,
    roles: WRITERS,
    params: SerialParams,
    response: { 200: StatusAnswer },
    errors: [404, 409],
  }),
  release: route({
    summary: 'Release an agent certificate from hold',
    tags: TAGS,
    roles: WRITERS,
    params: SerialParams,
    response: { 200: StatusAnswer },
    errors: [404, 409],
  }),
  caRevoke: route({
    summary: "Revoke a CA's own certificate (separately audited; cascades)",
    tags: ['ca'],
    roles: ['admin'],
    params: NameParams,
    body: Strict({
      reason: Type.Optional(
        Type.Unknown({ description: 'required: RFC 5280 reason name (a string), e.g. cACompromise' }),
      ),
    }),
    response: { 200: CaStatusAnswer },
    errors: [404, 409],
  }),
  caHold: route({
    summary: "Put a CA's certificate on hold",
    tags: ['ca'],
    roles: ['admin'],
    params: NameParams,
    response: { 200: CaStatusAnswer },
    errors: [404, 409],
  }),
  caRelease: route({
    summary: "Release a CA's certificate from hold",
    tags: ['ca'],
    roles: ['admin'],
    params: NameParams,
    response: { 200: CaStatusAnswer },
    errors: [404, 409],
  }),
  auditHead: route({
    summary: 'The audit chain head and the latest signed checkpoint',
    tags: ['audit'],
    roles: ['admin', 'auditor'],
    response: {
      200: Open({
        head: AnyJson,
        checkpoint: AnyJson,
        checkpointKey: Nullable(Type.String({ description: 'base64' })),
        checkpointIntervalMs: Type.Number(),
      }),
    },
  }),
  show: route({
    summary: 'Show a certificate',
    tags: TAGS,
    roles: READERS,
    params: SerialParams,
    response: { 200: CertificateView },
    errors: [404],
  }),
  list: route({
    summary: 'List certificates',
    tags: TAGS,
    roles: READERS,
    querystring: Type.Object({
      agentId: Type.Optional(Type.String()),
      tenant: Type.Optional(Type.String()),
      status: Type.Optional(Type.String({ description: 'good, revoked, held or expired' })),
    }),
    response: { 200: Open({ certificates: Type.Array(CertificateView) }) },
  }),
};
