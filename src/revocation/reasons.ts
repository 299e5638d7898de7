/**
 * Revocation reasons as users type them. RFC 5280 §5.3.1 names are accepted case-insensitively,
 * with kebab/snake spellings (key-compromise, key_compromise). certificateHold has its own
 * commands (hold/release) and removeFromCRL exists only inside delta CRLs, so neither is a
 * reason for `revoke`.
 */
import { AgentCaError } from '../errors.js';
import { REVOCATION_REASON_CODES, type RevocationReason } from '../store/ports.js';

export const REVOKE_REASONS: readonly RevocationReason[] = (
  Object.keys(REVOCATION_REASON_CODES) as RevocationReason[]
).filter((r) => r !== 'certificateHold' && r !== 'removeFromCRL');

const BY_FOLDED = new Map(REVOKE_REASONS.map((r) => [r.toLowerCase(), r]));

export function parseRevokeReason(input: string | undefined): RevocationReason {
  if (input === undefined) return 'unspecified';
  const folded = input.replace(/[-_\s]/g, '').toLowerCase();
  const r = BY_FOLDED.get(folded);
  if (r) return r;
  if (folded === 'certificatehold')
    throw new AgentCaError(
      'INPUT_REASON_UNKNOWN',
      'certificateHold is set with `hold` and lifted with `release`, not with revoke',
    );
  throw new AgentCaError(
    'INPUT_REASON_UNKNOWN',
    `unknown revocation reason ${JSON.stringify(input)} (RFC 5280 §5.3.1: ${REVOKE_REASONS.join(', ')})`,
    { reason: input },
  );
}
