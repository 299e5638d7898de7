/**
 * Building blocks of the HTTP contract (docs/http-api.md): every route declares its schema with
 * these, so that validation, response serialisation and the OpenAPI 3.1 document
 * (GET /openapi.json) come from one description.
 *
 * - Errors are RFC 9457 problem details (`application/problem+json`) with our stable `code`.
 * - Authentication is a bearer token; the OpenAPI security requirement lists the roles that may
 *   call the route (OpenAPI 3.1 §4.8.30: for schemes other than OAuth2 the array names roles).
 * - Objects the client sends refuse unknown keys at every depth (`additionalProperties: false`);
 *   objects the server returns are open (`additionalProperties: true`) so that a field added
 *   later is never dropped by the serialiser.
 */
import { Type, type TSchema } from 'typebox';
import type { Role } from '../../tenancy/roles.js';

export const PROBLEM_JSON = 'application/problem+json';
export const PROBLEM_ID = 'AgentCaProblem';

/** RFC 9457 §3: the members every agent-ca problem carries, plus `code` (ACA_ERR_*) and `details`. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'urn:agent-ca:error:<code>' }),
    title: Type.String({ description: 'a short human sentence for the kind of problem' }),
    status: Type.Integer(),
    detail: Type.String({ description: 'what went wrong with this request' }),
    code: Type.String({ description: 'the stable error code (ACA_ERR_*) that clients test', pattern: '^ACA_ERR_' }),
    details: Type.Optional(
      Type.Object(
        {
          fields: Type.Optional(
            Type.Record(Type.String(), Type.String(), { description: 'each refused field (dotted path) and why' }),
          ),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { $id: PROBLEM_ID, title: 'Problem', additionalProperties: true },
);

const ERROR_TEXT: Record<number, string> = {
  400: 'The request is malformed or a field is invalid (details.fields names each).',
  401: 'No valid bearer token.',
  403: "The token's role or tenant may not do this.",
  404: "Not found (another tenant's object reads as absent).",
  409: 'The current state forbids it.',
  413: 'The body is too large.',
  422: 'Refused by a lint or a check.',
  429: 'Over a quota or rate; see Retry-After.',
  503: 'Not ready or a dependency is unavailable; see Retry-After.',
};

/** Response entries for these error statuses, each a problem+json body. */
export function problems(...statuses: number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of statuses)
    out[s] = {
      description: ERROR_TEXT[s] ?? 'Error.',
      content: { [PROBLEM_JSON]: { schema: Type.Ref(PROBLEM_ID) } },
    };
  return out;
}

/** The errors any authenticated route may answer, besides its own. */
export const AUTH_ERRORS = [400, 401, 403] as const;

export interface RouteDoc {
  summary: string;
  tags: string[];
  /** Roles that may call it; undefined for a public route. */
  roles?: readonly Role[];
  description?: string;
  params?: TSchema;
  querystring?: TSchema;
  headers?: TSchema;
  body?: TSchema;
  /** Success responses by status code. */
  response: Record<number, unknown>;
  /** Error statuses besides 400/401/403 (added for authenticated routes) and 500. */
  errors?: number[];
}

/** A fastify route schema (validation, serialisation, OpenAPI) from a RouteDoc. */
export function route(doc: RouteDoc): Record<string, unknown> {
  const errs = new Set<number>([...(doc.roles ? AUTH_ERRORS : []), ...(doc.errors ?? []), 500]);
  if (doc.body || doc.querystring || doc.params) errs.add(400);
  return {
    summary: doc.summary,
    tags: doc.tags,
    ...(doc.description ? { description: doc.description } : {}),
    ...(doc.roles ? { security: [{ bearerAuth: [...doc.roles] }] } : { security: [] }),
    ...(doc.params ? { params: doc.params } : {}),
    ...(doc.querystring ? { querystring: doc.querystring } : {}),
    ...(doc.headers ? { headers: doc.headers } : {}),
    ...(doc.body ? { body: doc.body } : {}),
    response: { ...doc.response, ...problems(...[...errs].sort((a, b) => a - b)) },
  };
}

/** A request object: unknown keys refused at this level (nested objects say so themselves). */
export function Strict<T extends Record<string, TSchema>>(props: T, description?: string) {
  return Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) });
}

/** A response object: the fields documented here, and any added later kept. */
export function Open<T extends Record<string, TSchema>>(props: T, description?: string) {
  return Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });
}

/** A response whose body is bytes of the given media types (DER, PEM, PDF, ZIP, …). */
export function binary(description: string, ...types: string[]): unknown {
  return {
    description,
    content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
  };
}

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Time = (description?: string) =>
  Type.String({ format: 'date-time', ...(description ? { description } : {}) });
export const Serial = Type.String({ description: 'certificate serial number, hex as openssl prints it' });
export const SerialParams = Strict({ serial: Serial });
export const IdParams = Strict({ id: Type.String() });
export const NameParams = Strict({ name: Type.String() });
export const Empty = { description: 'No content.', type: 'null' };
export const AnyJson = Type.Unknown();
