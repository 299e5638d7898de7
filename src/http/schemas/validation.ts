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
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { AgentCaError } from '../../errors.js';

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
    else put(at || '(body)', e.message);
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
 * here: the OCSP route answers malformedRequest itself.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if (isBinary(schema)) return () => true;
  const check = Compile(schema);
  return (value: unknown) => {
    if (httpPart === 'body' && (value === undefined || value === null)) return { value };
    const converted = httpPart === 'body' ? value : Value.Convert(schema, value);
    if (check.Check(converted)) return { value: converted };
    const errors = check.Errors(converted) as unknown as SchemaError[];
    return { error: validationError(httpPart ?? 'body', errors) };
  };
};
