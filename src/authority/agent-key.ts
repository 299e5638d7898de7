/**
 * The agent's key when the authority is involved in it: created in a KMS/HSM for the agent
 * (`createKeyIn`), or named by the caller (`keyUri`). Two custody rules:
 *
 * - validate the whole request before creating anything, and if issuance still fails after the
 *   key exists, schedule its deletion (audited), so failures leave no orphan keys behind;
 * - a `keyUri` given with a public key must be that key: otherwise the record would say the
 *   agent's key lives somewhere it does not (and revocation would delete the wrong key).
 */
import type { AuditLog } from '../audit/audit-log.js';
import { AgentCaError } from '../errors.js';
import { keyManagerFor, openSigner, schemeOf } from '../signer/registry.js';
import type { SignerContext } from '../signer/signer.js';
import type { KeyType, KeyUri } from '../types.js';

/**
 * A valid P-256 SubjectPublicKeyInfo (the curve's generator point, RFC 5480 §2.2), used to run
 * every check of a request that does not depend on the key before a KMS key is created for it.
 */
export const PLACEHOLDER_SPKI = Buffer.from(
  '3059301306072a8648ce3d020106082a8648ce3d030107034200046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
  'hex',
);

export interface AgentKeyDeps {
  signerContext: SignerContext;
  audit: AuditLog;
  deletionWindowDays: number;
}

/**
 * Creates the agent's key in `backend`; returns its URI and SPKI. A key that was created but
 * cannot then be opened or recorded is discarded here (discardOrphanKey) before the error goes on.
 */
export async function createAgentKey(
  d: AgentKeyDeps,
  backend: string,
  keyType: KeyType,
  label: string,
  actor: string,
  agentId: string,
): Promise<{ keyUri: KeyUri; spki: Buffer }> {
  const keyUri = await keyManagerFor(backend, d.signerContext).createKey({ keyType, label });
  try {
    const signer = await openSigner(keyUri, d.signerContext);
    const spki = signer.publicKeyInfo;
    await signer.close?.();
    await d.audit.append({ actor, action: 'key.created', subject: agentId, details: { agentId, keyUri } });
    return { keyUri, spki };
  } catch (e) {
    await discardOrphanKey(d, keyUri, actor, agentId, e);
    throw e;
  }
}

/** Issuance failed after the key was created: schedule its deletion and record that (or the failure to). */
export async function discardOrphanKey(
  d: AgentKeyDeps,
  keyUri: KeyUri,
  actor: string,
  agentId: string,
  cause: unknown,
): Promise<void> {
  const error = cause instanceof Error ? cause.message : String(cause);
  try {
    const at = await keyManagerFor(schemeOf(keyUri), d.signerContext).scheduleKeyDeletion(keyUri, d.deletionWindowDays);
    await d.audit.append({
      actor,
      action: 'key.orphan-deletion-scheduled',
      subject: agentId,
      details: { agentId, keyUri, deletionDate: at.toISOString(), issuanceError: error },
    });
  } catch (e) {
    await d.audit.append({
      actor,
      action: 'key.orphan-deletion-failed',
      subject: agentId,
      details: { agentId, keyUri, issuanceError: error, error: e instanceof Error ? e.message : String(e) },
    });
  }
}

/**
 * Refuses a caller's keyUri whose public key is not the SPKI being certified. When this process
 * cannot open the key at all (no credentials for that KMS, token absent), it cannot tell: the
 * URI is recorded as given and the returned warning says it was not verified.
 */
export async function checkKeyUri(
  signerContext: SignerContext,
  keyUri: KeyUri,
  spki: Buffer,
): Promise<string | undefined> {
  let signer;
  try {
    signer = await openSigner(keyUri, signerContext);
  } catch (e) {
    if (e instanceof AgentCaError && e.code.startsWith('ACA_ERR_SIGNER_'))
      return `keyUri ${keyUri} not verified against the certified key: ${e.message}`;
    throw e;
  }
  try {
    if (!Buffer.from(signer.publicKeyInfo).equals(spki)) {
      throw new AgentCaError(
        'INPUT_INVALID',
        `keyUri ${keyUri} holds a different public key than the one to be certified`,
        { fields: { keyUri: 'public key differs from the certified key' } },
      );
    }
    return undefined;
  } finally {
    await signer.close?.();
  }
}
