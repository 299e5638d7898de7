/**
 * Status changes of the CA's own certificates, kept apart from the agent API: revoking the
 * intermediate invalidates every certificate under it (RFC 5280 §6.1.3), so it is its own
 * command and its own audit trail (`ca.revoke.requested` before the usual revoke entries).
 *
 * The root is refused: a trust anchor is not checked for revocation by relying parties
 * (RFC 5280 §6.1.1(d): the trust anchor is an input to path validation, not part of the
 * path), so a "revoked root" would change nothing they see. It is withdrawn from trust stores
 * and replaced instead (docs/hardening.md, D3).
 */
import type { AuditLog } from '../audit/audit-log.js';
import { AgentCaError } from '../errors.js';
import type { Revoker, RevokeOptions, StatusChangeOptions } from '../revocation/revoker.js';
import type { RevocationRecord } from '../store/ports.js';
import type { Serial } from '../types.js';
import type { CaName } from './ca-state.js';

export type CaStatusChange = 'revoke' | 'hold' | 'release';

export interface CaRevocationDeps {
  revoker: Revoker;
  audit: AuditLog;
  serialOf: (name: CaName) => Serial;
}

function checkName(name: string): CaName {
  if (name === 'root') {
    throw new AgentCaError(
      'REVOKE_CA_REFUSED',
      'the root is a trust anchor: relying parties do not check its revocation (RFC 5280 §6.1.1); remove it from trust stores and initialise a new CA instead',
    );
  }
  if (name !== 'intermediate')
    throw new AgentCaError(
      'INPUT_INVALID',
      `unknown CA ${JSON.stringify(name)}: only the intermediate can be revoked, held or released`,
    );
  return name;
}

/** Revoke, hold or release a CA certificate (the intermediate), audited as a CA action. */
export async function changeCaStatus(
  d: CaRevocationDeps,
  caName: string,
  change: CaStatusChange,
  opts: RevokeOptions & StatusChangeOptions = {},
): Promise<RevocationRecord | undefined> {
  const name = checkName(caName);
  const serial = d.serialOf(name);
  const actor = opts.actor ?? 'library';
  const details = {
    ca: name,
    serial,
    ...(change === 'revoke' ? { reason: opts.reason ?? 'unspecified' } : {}),
    ...(opts.details ?? {}),
  };
  await d.audit.append({ actor, action: `ca.${change}.requested`, subject: name, details });
  const o = { ...opts, details: { ...(opts.details ?? {}), ca: name } };
  if (change === 'revoke') return d.revoker.revoke(serial, o, 'ca');
  if (change === 'hold') return d.revoker.hold(serial, o, 'ca');
  await d.revoker.release(serial, o, 'ca');
  return undefined;
}
