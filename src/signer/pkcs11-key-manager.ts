/** PKCS#11 key lifecycle: generate non-extractable key pairs on the token, destroy them on deletion. */
import { randomBytes } from 'node:crypto';
import type * as P11 from 'pkcs11js';
import { oid } from '../asn1/der.js';
import { Oids } from '../asn1/oids.js';
import { systemClock, type Clock } from '../clock.js';
import { AgentCaError, isAgentCaError } from '../errors.js';
import type { KeyType, KeyUri } from '../types.js';
import { formatPkcs11Uri, parsePkcs11Uri, redactPkcs11Uri } from './pkcs11-uri.js';
import type { KeyManager, SignerContext } from './signer.js';
import {
  CK,
  ED25519_PRINTABLE,
  type Handle,
  attr,
  envOf,
  findObjects,
  findPrivateKey,
  withSession,
} from './pkcs11-session.js';

function keyGenTemplates(keyType: KeyType): { mechanism: number; pub: P11.Template } {
  switch (keyType) {
    case 'rsa2048':
    case 'rsa3072':
    case 'rsa4096':
      return {
        mechanism: CK.CKM_RSA_PKCS_KEY_PAIR_GEN,
        pub: [
          { type: CK.CKA_KEY_TYPE, value: CK.CKK_RSA },
          { type: CK.CKA_MODULUS_BITS, value: Number(keyType.slice(3)) },
          { type: CK.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
        ],
      };
    case 'p256':
    case 'p384':
      return {
        mechanism: CK.CKM_EC_KEY_PAIR_GEN,
        pub: [
          { type: CK.CKA_KEY_TYPE, value: CK.CKK_EC },
          { type: CK.CKA_EC_PARAMS, value: oid(keyType === 'p256' ? Oids.prime256v1 : Oids.secp384r1) },
        ],
      };
    case 'ed25519':
      return {
        mechanism: CK.CKM_EC_EDWARDS_KEY_PAIR_GEN,
        pub: [
          { type: CK.CKA_KEY_TYPE, value: CK.CKK_EC_EDWARDS },
          { type: CK.CKA_EC_PARAMS, value: ED25519_PRINTABLE },
        ],
      };
  }
}

/**
 * createKey / scheduleKeyDeletion on the token named by AGENT_CA_PKCS11_TOKEN, module from
 * AGENT_CA_PKCS11_MODULE, PIN from AGENT_CA_PKCS11_PIN_SOURCE or AGENT_CA_PKCS11_PIN. The URIs
 * it returns carry module-path and a pin-source (never the PIN) so they open on their own later.
 * `ctx.clock` (optional, beside SignerContext) dates the deletion.
 */
export function pkcs11KeyManager(ctx: SignerContext & { clock?: Clock }): KeyManager {
  const env = envOf(ctx);
  const clock = ctx.clock ?? systemClock;
  return {
    scheme: 'pkcs11',
    async createKey({ keyType, label }) {
      const token = env.AGENT_CA_PKCS11_TOKEN;
      if (!token) throw new AgentCaError('CONFIG_INVALID', 'AGENT_CA_PKCS11_TOKEN (the token label) is not set');
      const pinSource =
        env.AGENT_CA_PKCS11_PIN_SOURCE || (env.AGENT_CA_PKCS11_PIN ? 'env:AGENT_CA_PKCS11_PIN' : undefined);
      const base = parsePkcs11Uri(
        formatPkcs11Uri({ token, modulePath: env.AGENT_CA_PKCS11_MODULE || undefined, pinSource }),
      );
      const object = label ?? `agent-ca-${randomBytes(6).toString('hex')}`;
      const id = randomBytes(16);
      const { mechanism, pub } = keyGenTemplates(keyType);
      const common: P11.Template = [
        { type: CK.CKA_TOKEN, value: true },
        { type: CK.CKA_LABEL, value: object },
        { type: CK.CKA_ID, value: id },
      ];
      await withSession(base, ctx, async (m, s) => {
        await m.p11.C_GenerateKeyPairAsync(
          s,
          { mechanism },
          [
            ...common,
            { type: CK.CKA_CLASS, value: CK.CKO_PUBLIC_KEY },
            { type: CK.CKA_PRIVATE, value: false },
            { type: CK.CKA_VERIFY, value: true },
            ...pub,
          ],
          [
            ...common,
            { type: CK.CKA_CLASS, value: CK.CKO_PRIVATE_KEY },
            { type: CK.CKA_PRIVATE, value: true },
            { type: CK.CKA_SENSITIVE, value: true },
            { type: CK.CKA_EXTRACTABLE, value: false },
            { type: CK.CKA_SIGN, value: true },
            { type: CK.CKA_DECRYPT, value: false },
            { type: CK.CKA_UNWRAP, value: false },
            { type: CK.CKA_DERIVE, value: false },
          ],
        );
      });
      return formatPkcs11Uri({ ...base, object, id, type: 'private' }) as KeyUri;
    },
    /**
     * An HSM has no pending-deletion window, and a revoked agent's key must stop signing now,
     * so the private and public key objects are destroyed (C_DestroyObject) at once and "now"
     * is returned; `pendingWindowDays` does not apply. Certificates on the token are left: they
     * are public and are the evidence of what the key was. Idempotent: a key already gone
     * returns now too. A URI matching several private keys is refused rather than mass-deleted.
     */
    async scheduleKeyDeletion(uri) {
      const u = parsePkcs11Uri(uri);
      if (u.object === undefined && u.id === undefined)
        throw new AgentCaError('SIGNER_URI_INVALID', `${redactPkcs11Uri(uri)} names no key: add object= and/or id=`);
      await withSession(u, ctx, (m, s) => {
        let priv: Handle;
        try {
          priv = findPrivateKey(m, s, u, uri);
        } catch (e) {
          if (isAgentCaError(e) && e.is('SIGNER_KEY_NOT_FOUND')) return;
          throw e;
        }
        const id = attr(m, s, priv, CK.CKA_ID);
        const t: P11.Template = [{ type: CK.CKA_CLASS, value: CK.CKO_PUBLIC_KEY }];
        if (id.length) t.push({ type: CK.CKA_ID, value: id });
        if (u.object !== undefined) t.push({ type: CK.CKA_LABEL, value: u.object });
        const pubs = id.length || u.object !== undefined ? findObjects(m, s, t, 8) : [];
        m.p11.C_DestroyObject(s, priv);
        for (const p of pubs) m.p11.C_DestroyObject(s, p);
      });
      return clock.now();
    },
  };
}
