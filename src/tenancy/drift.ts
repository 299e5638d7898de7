/**
 * Drift: what an agent runs (its model hash, its scope) against what its operator registered.
 * A renewal (MiCA Art. 70: identity and scope re-verified at renewal) is refused while any
 * field differs, and the refusal names each one with both values (docs/tenancy.md).
 */
import type { AgentSpec, StoredModelHash } from './agent-spec.js';

export interface Drift {
  field: 'modelHash' | 'scope';
  registered: unknown;
  observed: unknown;
}

const hashText = (m: StoredModelHash | undefined): string | null =>
  m ? `${m.algorithm}:${m.digest.toLowerCase()}` : null;
const scopeText = (s: readonly string[] | undefined): string[] => [...(s ?? [])].sort();

/** The fields `observed` gives that differ from the registration (fields not given are not compared). */
export function driftOf(
  registered: Pick<AgentSpec, 'modelHash' | 'scope'>,
  observed: { modelHash?: StoredModelHash; scope?: readonly string[] },
): Drift[] {
  const out: Drift[] = [];
  if (observed.modelHash !== undefined && hashText(observed.modelHash) !== hashText(registered.modelHash)) {
    out.push({
      field: 'modelHash',
      registered: hashText(registered.modelHash),
      observed: hashText(observed.modelHash),
    });
  }
  if (
    observed.scope !== undefined &&
    JSON.stringify(scopeText(observed.scope)) !== JSON.stringify(scopeText(registered.scope))
  ) {
    out.push({ field: 'scope', registered: scopeText(registered.scope), observed: scopeText(observed.scope) });
  }
  return out;
}
