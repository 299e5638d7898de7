/**
 * `npm run bench [-- --only issuance,revocation] [-- --seconds N]`: every benchmark prints its
 * figure beside a baseline measured in the same run (raw crypto, bare fastify, openssl).
 */
import { parseArgs } from 'node:util';
import { benchIssuance } from './issuance.js';
import { benchOcsp } from './ocsp.js';
import { benchKms } from './kms.js';
import { benchRisk } from './risk.js';
import { benchRevocation } from './revocation.js';
import { benchCrl } from './crl.js';
import { benchLint } from './lint.js';
import { benchScale } from './scale.js';
import { benchCrlOnChange } from './crl-on-change.js';
import { benchTenants } from './tenants.js';
import { benchReports } from './reports.js';
import { benchRiskMemory } from './risk-memory.js';

const { values } = parseArgs({
  options: { only: { type: 'string' }, seconds: { type: 'string' } },
  allowPositionals: false,
});
const only = values.only ? new Set(values.only.split(',')) : undefined;
const seconds = values.seconds ? Number(values.seconds) : 3;

const sections: [string, (s: number) => Promise<unknown>][] = [
  ['issuance', benchIssuance],
  ['lint', benchLint],
  ['ocsp', benchOcsp],
  ['kms', benchKms],
  ['risk', benchRisk],
  ['tenants', benchTenants],
  ['revocation', benchRevocation],
  // after revocation: it reuses the 1,000,000-entry data set built there
  ['crl', benchCrl],
  // PostgreSQL beside LevelDB ($AGENT_CA_BENCH_PG)
  ['scale', benchScale],
  ['crl-on-change', benchCrlOnChange],
  ['reports', benchReports],
  ['risk-memory', benchRiskMemory],
];

process.stdout.write(`agent-ca bench — node ${process.version}, ${new Date().toISOString()}\n`);
for (const [name, run] of sections) {
  if (only && !only.has(name)) continue;
  await run(seconds);
}
