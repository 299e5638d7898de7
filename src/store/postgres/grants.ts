/**
 * Least privilege for the server's role: INSERT and SELECT only on the audit log and its
 * checkpoints (WORM: the triggers refuse UPDATE/DELETE/TRUNCATE for every role, and the role
 * is not even granted them), INSERT/SELECT on the append-only certificate table and status
 * journal, and the updates the CA needs elsewhere. No DDL, no TRUNCATE anywhere: migrations
 * run as the schema owner (docs/storage-postgres.md).
 */
import { AgentCaError } from '../../errors.js';
import { ident } from './connection.js';

const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;

export const APPEND_ONLY_TABLES = ['audit_log', 'audit_checkpoints', 'certificates', 'status_changes'] as const;
export const MUTABLE_TABLES = [
  'revocations',
  'ocsp_responses',
  'crls',
  'crl_state',
  'meta',
  'store_state',
  'webhook_deliveries',
] as const;

export function grantStatements(schema: string, role: string): string[] {
  if (!ROLE.test(role))
    throw new AgentCaError(
      'INPUT_INVALID',
      `role must be a lowercase SQL identifier (letters, digits, _), got ${JSON.stringify(role)}`,
    );
  const s = ident(schema);
  const r = ident(role);
  const t = (names: readonly string[]): string => names.map((n) => `${s}.${n}`).join(', ');
  return [
    `grant usage on schema ${s} to ${r}`,
    `revoke all on ${t([...APPEND_ONLY_TABLES, ...MUTABLE_TABLES, 'agent_ca_schema'])} from ${r}`,
    `grant select, insert on ${t(APPEND_ONLY_TABLES)} to ${r}`,
    `grant select, insert, update, delete on ${t(MUTABLE_TABLES)} to ${r}`,
    `grant select on ${s}.agent_ca_schema to ${r}`,
  ];
}
