/**
 * Request validation with the routes' TypeBox schemas, and its failures in our words: a
 * refused request is 400 problem+json ACA_ERR_INPUT_INVALID whose `details.fields` names every
 * bad field by dotted path (`policy.maxTransactionSize.cents: unknown field`), as the hand
 * validators before it did (docs/http-api.md).
 *
 * TypeBox's own compiler is used rather than the host's Ajv, so that an embedding app's Ajv
 * options (fastify's default `removeAdditional: true` silently drops unknown keys) cannot
 * change what agent-ca accepts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { AgentCaError, isAgentCaError } from '../../errors.js';
import { PROBLEM_ID, Problem } from './common.js';

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

function dotted(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, s) => (/^[0-9]+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

/** TypeBox says `must be array`; the hand validators before it said `must be an array`. */
function human(message: string): string {
  return message.replace(
    /^must be (array|object|integer|string|number|boolean)$/,
    (_m, t: string) => `must be ${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`,
  );
}

/** Field path -> reason, from TypeBox errors (all of them, not just the first). */
export function fieldsOf(errors: readonly SchemaError[]): Record<string, string> {
  const fields: Record<string, string> = {};
  const put = (k: string, v: string) => {
    if (!(k in fields)) fields[k] = v;
  };
  for (const e of errors) {
    const at = dotted(e.instancePath);
    const join = (k: string) => (at ? `${at}.${k}` : k);
    if (e.keyword === 'boolean') continue; // the additionalProperties entry below names the key
    if (e.keyword === 'additionalProperties')
      for (const k of (e.params.additionalProperties as string[] | undefined) ?? []) put(join(k), 'unknown field');
    else if (e.keyword === 'required')
      for (const k of (e.params.requiredProperties as string[] | undefined) ?? []) put(join(k), 'is required');
    else put(at || '(body)', human(e.message));
  }
  return fields;
}

/** The error a request refused by its schema becomes (context: body, querystring, params, headers). */
export function validationError(context: string, errors: readonly SchemaError[]): AgentCaError {
  const fields = fieldsOf(errors);
  const where = context === 'body' ? '' : `${context}: `;
  return new AgentCaError(
    'INPUT_INVALID',
    `invalid fields: ${where}${Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
    { fields },
  );
}

const isBinary = (s: unknown): boolean =>
  typeof s === 'object' && s !== null && (s as { format?: unknown }).format === 'binary';

/**
 * fastify's validatorCompiler for agent-ca's routes. An absent body passes (the routes whose
 * body is optional treat it as `{}`); a body schema of binary content (OCSP DER) is not checked
 * here, nor a wildcard path: the OCSP route answers malformedRequest itself.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if (isBinary(schema)) return () => true;
  // A wildcard path (`/ocsp/*`): its route reads the raw URL and answers bad input itself.
  if (httpPart === 'params' && '*' in ((schema as { properties?: object }).properties ?? {})) return () => true;
  const check = Compile(schema);
  return (value: unknown) => {
    if (httpPart === 'body' && (value === undefined || value === null)) return { value };
    const converted = httpPart === 'body' ? value : Value.Convert(schema, value);
    if (check.Check(converted)) return { value: converted };
    const errors = check.Errors(converted) as unknown as SchemaError[];
    return { error: validationError(httpPart ?? 'body', errors) };
  };
};

const fieldsFrom = (e: unknown): Record<string, string> | undefined =>
  isAgentCaError(e) && e.is('INPUT_INVALID') && typeof e.details.fields === 'object' && e.details.fields !== null
    ? (e.details.fields as Record<string, string>)
    : undefined;

/**
 * For a route whose own checks name problems a schema cannot (one field against another: "give
 * exactly one of csr, publicKey, createKeyIn"), so that a client still learns every bad field
 * in one answer. Register the route with `attachValidation: true`: when its schema refused the
 * request, `check` (pure: it must not act) runs on it too and the two lists are merged, the
 * route's own wording first; the handler itself never runs on a refused request.
 */
export function withChecks<Rq extends FastifyRequest, Rp extends FastifyReply>(
  check: (request: Rq) => unknown,
  handler: (request: Rq, reply: Rp) => Promise<unknown>,
): (request: Rq, reply: Rp) => Promise<unknown> {
  return async (request, reply) => {
    const refused = request.validationError;
    if (!refused) return handler(request, reply);
    const schema = fieldsFrom(refused);
    try {
      await check(request);
    } catch (e) {
      const own = fieldsFrom(e);
      if (!own || !schema) throw e;
      const fields = { ...schema, ...own };
      throw new AgentCaError(
        'INPUT_INVALID',
        `invalid fields: ${Object.entries(fields)
          .map(([k, v]) => `${k} ${v}`)
          .join('; ')}`,
        { fields },
      );
    }
    throw refused;
  };
}

/**
 * What every route plugin calls first, so that it works mounted alone as well as inside
 * agentCaPlugin: our validator, and the shared problem schema its error responses name.
 */
export function useContract(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  if (!app.getSchema(PROBLEM_ID)) app.addSchema(Problem);
}
