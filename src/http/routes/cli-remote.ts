/**
 * The admin routes the CLI's `--server URL` path needs beyond the certificate API
 * (docs/cli-and-package.md, "While a server runs"): renewing a certificate by serial,
 * verifying the audit chain and reconciling the log with the store, all done by the process
 * that holds the store (the certificate's chain as PEM, for `sign-action --server`, is
 * routes/review.ts's chain.pem).
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Authority } from '../../authority/authority.js';
import { checkpointFromJson } from '../../audit/checkpoint.js';
import { reconcileAuditWithStore } from '../../audit/reconcile.js';
import { AgentCaError } from '../../errors.js';
import { CA_NAMES, type IssuerId } from '../../types.js';
import { requireRole } from '../../tenancy/roles.js';
import { actorOf, principalOf, type AdminTokens } from '../plugins/admin-auth.js';
import { visibleCertificate } from './admin.js';
import { route } from '../schemas/common.js';
import { useContract } from '../schemas/validation.js';

const SerialParams = Type.Object(
  { serial: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

const RenewBody = Type.Object(
  {
    validityDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    validitySeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 3650 * 86_400 })),
  },
  { additionalProperties: false },
);

const RenewResponse = Type.Object(
  {
    renewed: Type.String(),
    serial: Type.String(),
    certificate: Type.String(),
    chain: Type.String(),
    notBefore: Type.String(),
    notAfter: Type.String(),
    warnings: Type.Array(Type.String()),
  },
  { additionalProperties: true },
);

/** A checkpoint kept elsewhere (`GET /api/v1/audit/head`'s `checkpoint`), to verify against. */
const VerifyBody = Type.Object(
  { against: Type.Optional(Type.Object({}, { additionalProperties: true })) },
  { additionalProperties: false },
);

const ReconcileResponse = Type.Object(
  {
    ok: Type.Boolean(),
    entries: Type.Integer({ description: 'audit entries read' }),
    issued: Type.Integer({ description: 'certificates whose issuance the log records' }),
    statusChanges: Type.Integer({ description: 'serials with at least one committed status change' }),
    mismatches: Type.Array(
      Type.Object(
        { serial: Type.String(), audit: Type.String(), store: Type.String() },
        { additionalProperties: true },
      ),
      { description: 'at most 1,000 listed; a last entry counts the rest' },
    ),
  },
  { additionalProperties: true },
);

export async function cliRemoteRoutes(
  app: FastifyInstance,
  opts: { authority: Authority; tokens: AdminTokens },
): Promise<void> {
  const a = opts.authority;
  useContract(app);
  // Checked before the body is read: an unauthenticated caller gets 401, whatever it sends.
  app.addHook('onRequest', opts.tokens.guard);

  app.post<{ Params: Static<typeof SerialParams>; Body: Static<typeof RenewBody> }>(
    '/api/v1/certificates/:serial/renew',
    {
      schema: route({
        summary: "Renew a certificate by serial (the CLI's renew --server)",
        tags: ['certificates'],
        roles: ['admin', 'operator'],
        params: SerialParams,
        body: RenewBody,
        response: { 201: RenewResponse },
        errors: [404, 409, 422],
      }),
    },
    async (request, reply) => {
      const p = principalOf(request);
      requireRole(p, ['admin', 'operator'], 'renew certificates');
      await visibleCertificate(a, p, request.params.serial);
      const days = request.body?.validityDays;
      const seconds = request.body?.validitySeconds;
      const r = await a.renew(request.params.serial, {
        ...(days !== undefined ? { validityDays: days } : {}),
        ...(seconds !== undefined ? { validitySeconds: seconds } : {}),
        actor: actorOf(request),
      });
      return reply.code(201).send({
        renewed: request.params.serial,
        serial: r.serial,
        certificate: r.pem,
        chain: r.chainPem,
        notBefore: r.notBefore.toISOString(),
        notAfter: r.notAfter.toISOString(),
        warnings: r.warnings,
      });
    },
  );

  // The whole chain spans every tenant: admin only (an auditor exports its tenant's entries).
  app.post<{ Body: Static<typeof VerifyBody> }>(
    '/api/v1/audit/verify',
    {
      schema: route({
        summary: 'Verify the whole audit chain, optionally against a checkpoint kept elsewhere',
        tags: ['audit'],
        roles: ['admin'],
        body: VerifyBody,
        response: { 200: Type.Object({}, { additionalProperties: true }) },
      }),
    },
    async (request) => {
      requireRole(principalOf(request), ['admin'], 'verify the whole audit log');
      let against;
      if (request.body?.against !== undefined) {
        try {
          against = checkpointFromJson(request.body.against);
        } catch (e) {
          throw new AgentCaError('INPUT_INVALID', `against: ${(e as Error).message}`, {
            fields: { against: 'must be a checkpoint as GET /api/v1/audit/head returns it' },
          });
        }
      }
      const r = await a.audit.verify(against ? { against } : {});
      return { ...r, ...(against ? { against: against.seq } : {}) };
    },
  );

  // Like verify, the replay spans every tenant's certificates: admin only. Mismatches are the
  // answer (200, ok: false), not an error: the CLI turns them into ACA_ERR_AUDIT_STORE_MISMATCH.
  app.post(
    '/api/v1/audit/reconcile',
    {
      schema: route({
        summary: 'Replay the audit log and list every certificate status the store disagrees with',
        tags: ['audit'],
        roles: ['admin'],
        response: { 200: ReconcileResponse },
      }),
    },
    async (request) => {
      requireRole(principalOf(request), ['admin'], 'reconcile the audit log with the store');
      return reconcileAuditWithStore(a.store, CA_NAMES as readonly string[] as readonly IssuerId[]);
    },
  );
}
