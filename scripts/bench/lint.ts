/**
 * The cost of linting the encoded bytes (docs/oids-and-lints.md): one agent TBS with every agent
 * extension, encoded (encodeTbs), then parsed back with the strict DER reader and every lint run
 * (lintEncodedTbs), beside the raw node:crypto P-256 signature of the same bytes that every
 * issuance pays anyway, in the same run.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { agentExtensionCodecs } from '../../src/asn1/extensions/index.js';
import { encodeName } from '../../src/asn1/name.js';
import { FixedClock } from '../../src/clock.js';
import { intentOf, lintEncodedTbs } from '../../src/lint/index.js';
import { buildTbs, extensionEntry } from '../../src/profile/build-tbs.js';
import { issuerUrls } from '../../src/profile/config.js';
import { loadProfiles } from '../../src/profile/profile.js';
import { encodeTbs } from '../../src/profile/tbs.js';
import { keyIdentifier } from '../../src/signer/public-key.js';
import { fmt, header, line, rate, ratio } from './util.js';

export async function benchLint(seconds: number): Promise<Record<string, number>> {
  header(
    'lints on the encoded TBS (strict DER parse + every rule) vs a raw node:crypto P-256 signature of the same bytes',
  );
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const agent = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
    format: 'der',
    type: 'spki',
  });
  const caSpki = ca.publicKey.export({ format: 'der', type: 'spki' });
  const clock = new FixedClock('2026-06-01T00:00:00Z');
  const codecs = agentExtensionCodecs();
  const subject = { organization: 'Bench Operator', commonName: 'bench-bot' };
  const tbs = buildTbs(
    {
      profile: loadProfiles().get('agent')!,
      subject,
      encodedSubject: encodeName(subject),
      publicKeyInfo: agent,
      subjectAltNames: [{ dns: 'bench-bot.agents.example' }],
      agentId: 'bench-bot',
      agentExtensions: [
        extensionEntry(
          'agentPolicy',
          codecs.agentPolicy.oid,
          false,
          codecs.agentPolicy.encode({
            maxTransactionSize: { amount: '50000', currency: 'USD' },
            allowedMarkets: ['EUR_USD'],
          }),
        ),
        extensionEntry(
          'agentScope',
          codecs.agentScope.oid,
          false,
          codecs.agentScope.encode(['read:accounts', 'write:/data/processed/*']),
        ),
        extensionEntry(
          'modelHash',
          codecs.modelHash.oid,
          false,
          codecs.modelHash.encode({ algorithm: 'sha256', digest: Buffer.alloc(32, 1) }),
        ),
        extensionEntry(
          'agentContext',
          codecs.agentContext.oid,
          false,
          codecs.agentContext.encode({ tenantId: 'bench', environment: 'production' }),
        ),
      ],
    },
    {
      id: 'intermediate',
      subject: encodeName({ organization: 'Bench', commonName: 'Bench CA' }),
      keyId: keyIdentifier(caSpki),
      notAfter: new Date('2036-01-01T00:00:00Z'),
      signatureAlgorithm: 'ecdsaWithSHA256',
      urls: issuerUrls('http://127.0.0.1:8080', 'intermediate'),
    },
    clock,
  );
  const der = encodeTbs(tbs);
  const intent = intentOf(tbs);
  const ctx = { agentDomains: ['agents.example'] };
  const signRate = await rate(() => sign('sha256', der, ca.privateKey), seconds);
  const encodeRate = await rate(() => encodeTbs(tbs), seconds);
  const lintRate = await rate(() => lintEncodedTbs(der, intent, ctx), seconds);
  line('TBS bytes'.padEnd(28), String(der.length));
  line('raw P-256 sign/s'.padEnd(28), fmt(signRate.perSecond));
  line('encodeTbs/s'.padEnd(28), fmt(encodeRate.perSecond));
  line('parse + lint/s'.padEnd(28), fmt(lintRate.perSecond));
  line('lint time / sign time'.padEnd(28), ratio(signRate.perSecond, lintRate.perSecond));
  return { signPerSecond: signRate.perSecond, lintPerSecond: lintRate.perSecond };
}
