/**
 * Key custody bench. The same CA (P-256, LevelDB store, audit on) on softkey and on
 * awskms through the project's KMS emulator, in the same run:
 *  - issuance/s, 1 and 32 in flight, library only and with OCSP pre-signing on issue (what
 *    `agent-ca serve` does), beside the backend's raw signer.sign/s;
 *  - OCSP refreshes/s: OcspService.refreshDue() over every pre-signed certificate once all are due;
 *  - KMS Sign calls per issued certificate (target 1 for the certificate itself) and per OCSP
 *    request served from pre-signed responses (target 0: the request path never signs).
 * The emulator runs as its own process (loopback HTTP + SigV4), so it does not share the CA's
 * event loop; it is not AWS: real KMS adds a network round trip per call and request quotas.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ocspRequestDer } from '../../src/ocsp/request-encode.js';
import { FixedClock } from '../../src/clock.js';
import { createAuthority } from '../../src/authority/create-authority.js';
import { certIdFor } from '../../src/ocsp/cert-id.js';
import { OcspService } from '../../src/ocsp/service.js';
import { startChild, type Child } from './child.js';
import { concurrentRate, fmt, header, line, rate, ratio, type Rate } from './util.js';

const TBS_LIKE = Buffer.alloc(900, 7); // about the size of an agent TBS
const INFLIGHT = 32; // as scripts/bench/issuance.ts
const SERVED_SAMPLE = 1000;

interface KmsStats {
  signCalls: number;
  requests: number;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th (proc(5)).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

interface BackendResult {
  rawSign: number;
  rawSignConcurrent: number;
  /** CPU per raw sign: this process (SDK, SigV4, HTTP client) and the emulator's process, microseconds. */
  cpuUsPerSign: number;
  emulatorCpuUsPerSign: number | undefined;
  lib1: number;
  libN: number;
  libSignsPerCert: number;
  served1: number;
  servedN: number;
  servedSignsPerCert: number;
  refreshed: number;
  refreshPerSecond: number;
  signsPerRefresh: number;
  ocspServed: number;
  signsPerOcspRequest: number;
  signsPerRepeat: number;
}

async function runBackend(
  backend: 'softkey' | 'awskms',
  seconds: number,
  env: Record<string, string>,
  stats: () => Promise<KmsStats>,
  emulatorPid?: number,
): Promise<BackendResult> {
  const dir = mkdtempSync(join(tmpdir(), `aca-bench-${backend}-`));
  const clock = new FixedClock(Date.now());
  const a = await createAuthority({ dataDir: dir, env, clock });
  try {
    await a.init({ signer: backend, keyType: 'p256', config: { organization: 'Bench Operator' } });
    const signer = a.ca('intermediate').signer;
    const rawSign = (await rate(() => signer.sign(TBS_LIKE), seconds)).perSecond;
    const cpu0 = process.cpuUsage();
    const emu0 = processCpuSeconds(emulatorPid);
    const concurrent = await concurrentRate(() => signer.sign(TBS_LIKE), INFLIGHT, seconds);
    const cpu = process.cpuUsage(cpu0);
    const emu1 = processCpuSeconds(emulatorPid);
    const signs = concurrent.ops + 20; // rateConcurrent's warm-up calls are not in ops
    const cpuUsPerSign = (cpu.user + cpu.system) / signs;
    const emulatorCpuUsPerSign = emu0 !== undefined && emu1 !== undefined ? ((emu1 - emu0) * 1e6) / signs : undefined;
    const agentKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    let n = 0;
    const served: string[] = [];
    const issue = async () => {
      const issued = await a.issue({
        agentId: `bench-${n++}`,
        publicKey: agentKey,
        scope: ['read:accounts', 'write:/data/processed/*'],
        policy: { maxTransactionSize: { amount: '50000', currency: 'USD' }, allowedMarkets: ['EUR_USD'] },
        tenant: 'bench',
        environment: 'production',
      });
      if (served.length < SERVED_SAMPLE) served.push(issued.serial);
    };
    // Sign calls are counted over every issue() call, warm-ups included, so the ratio is exact.
    const signsPerCall = async (run: () => Promise<Rate>): Promise<[Rate, number]> => {
      const before = await stats();
      n = 0;
      const r = await run();
      const calls = n;
      return [r, ((await stats()).signCalls - before.signCalls) / calls];
    };

    const [lib1, libSigns] = await signsPerCall(() => rate(issue, seconds));
    const [libN] = await signsPerCall(() => concurrentRate(issue, INFLIGHT, seconds));
    // From here an OCSP service is attached: agents (60 s validity) are signed per window on
    // request, not on issue; CA statuses are pre-signed (docs/revocation-freshness.md).
    const ocsp = new OcspService(a);
    await ocsp.start(); // pre-signs the CA statuses (the refresher's work below)
    served.length = 0;
    const [served1, servedSigns] = await signsPerCall(() => rate(issue, seconds));
    const [servedN] = await signsPerCall(() => concurrentRate(issue, INFLIGHT, seconds));

    // Every pre-signed response due at once (the CA statuses; agents are not pre-signed).
    clock.advance(ocsp.validityMs);
    const beforeRefresh = await stats();
    const t0 = process.hrtime.bigint();
    const refreshed = await ocsp.refreshDue();
    const refreshSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const signsPerRefresh = refreshed ? ((await stats()).signCalls - beforeRefresh.signCalls) / refreshed : 0;

    // OCSP requests as the HTTP route hands them to the responder (no nonce: RFC 5019 profile).
    const int = a.ca('intermediate');
    const issuer = { subjectDer: int.certificate.subject, publicKeyInfo: int.certificate.publicKeyInfo };
    // Twice: the first request of each agent in its window signs, the repeat is served as signed.
    const serveAll = async (): Promise<number> => {
      const before = await stats();
      for (const serial of served) {
        const req = ocspRequestDer(certIdFor(issuer, Buffer.from(serial, 'hex'), 'sha1'));
        const r = await ocsp.responder.respond(req);
        if (r.status !== 'successful') throw new Error(`OCSP answered ${r.status} for ${serial}: ${r.reason ?? ''}`);
      }
      return ((await stats()).signCalls - before.signCalls) / served.length;
    };
    const signsPerOcspRequest = await serveAll();
    const signsPerRepeat = await serveAll();
    await ocsp.stop();
    return {
      rawSign,
      rawSignConcurrent: concurrent.perSecond,
      cpuUsPerSign,
      emulatorCpuUsPerSign,
      lib1: lib1.perSecond,
      libN: libN.perSecond,
      libSignsPerCert: libSigns,
      served1: served1.perSecond,
      servedN: servedN.perSecond,
      servedSignsPerCert: servedSigns,
      refreshed,
      refreshPerSecond: refreshed / refreshSeconds,
      signsPerRefresh,
      ocspServed: served.length,
      signsPerOcspRequest,
      signsPerRepeat,
    };
  } finally {
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchKms(seconds: number): Promise<Record<string, number>> {
  header('key custody: softkey vs awskms through the KMS EMULATOR (not AWS), P-256, LevelDB store, audit on');
  line(
    'awskms figures are against scripts/kms-emulator on loopback (own process, SigV4, no network latency, no quotas);',
  );
  line(
    'real AWS KMS adds a network round trip per Sign and per-account request-rate quotas: read them as an upper bound.',
  );
  const emuDir = mkdtempSync(join(tmpdir(), 'aca-bench-kms-emu-'));
  let emu: Child | undefined;
  const results: Record<string, number> = {};
  try {
    emu = await startChild(
      process.execPath,
      ['--import', 'tsx', 'scripts/kms-emulator/main.ts', '--port', '0', '--data', emuDir],
      /(http:\/\/127\.0\.0\.1:\d+)/,
    );
    const url = emu.url;
    const env = {
      AWS_ENDPOINT_URL_KMS: url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const kmsStats = async (): Promise<KmsStats> => (await (await fetch(`${url}/__stats`)).json()) as KmsStats;
    const noStats = async (): Promise<KmsStats> => ({ signCalls: 0, requests: 0 });

    const soft = await runBackend('softkey', seconds, {}, noStats);
    const kms = await runBackend('awskms', seconds, env, kmsStats, emu.proc.pid);

    line('');
    line(
      `raw signer.sign of the intermediate key (900-byte TBS), 1 and ${INFLIGHT} in flight; CPU per sign in this process and in the emulator's`,
    );
    line(
      'backend'.padEnd(18),
      'sign/s'.padStart(9),
      `x${INFLIGHT} sign/s`.padStart(13),
      'CA CPU us/sign'.padStart(15),
      'emulator CPU us/sign'.padStart(21),
    );
    line(
      'softkey'.padEnd(18),
      fmt(soft.rawSign).padStart(9),
      fmt(soft.rawSignConcurrent).padStart(13),
      fmt(soft.cpuUsPerSign, 1).padStart(15),
      '-'.padStart(21),
    );
    line(
      'awskms (emulator)'.padEnd(18),
      fmt(kms.rawSign).padStart(9),
      fmt(kms.rawSignConcurrent).padStart(13),
      fmt(kms.cpuUsPerSign, 1).padStart(15),
      (kms.emulatorCpuUsPerSign === undefined ? 'n/a' : fmt(kms.emulatorCpuUsPerSign, 1)).padStart(21),
    );
    line(
      `awskms rates below are bounded by x${INFLIGHT} sign/s (2 cores shared by this process and the emulator), not by a KMS service.`,
    );
    const cols = [
      'backend'.padEnd(18),
      'issued/s'.padStart(9),
      `x${INFLIGHT} issued/s`.padStart(14),
      'KMS Sign/cert'.padStart(13),
    ];
    line('');
    line('issuance, library only (no OCSP pre-signing)');
    line(...cols);
    line('softkey'.padEnd(18), fmt(soft.lib1).padStart(9), fmt(soft.libN).padStart(14), '-'.padStart(13));
    line(
      'awskms (emulator)'.padEnd(18),
      fmt(kms.lib1).padStart(9),
      fmt(kms.libN).padStart(14),
      fmt(kms.libSignsPerCert, 3).padStart(13),
    );
    line(
      `awskms/softkey: ${ratio(kms.lib1, soft.lib1)} (1 in flight), ${ratio(kms.libN, soft.libN)} (${INFLIGHT} in flight); awskms issued/raw sign: ${ratio(kms.lib1, kms.rawSign)} (1), ${ratio(kms.libN, kms.rawSignConcurrent)} (${INFLIGHT})`,
    );
    line('');
    line('issuance as served (OCSP service attached: agents are signed per 30 s window when asked, nothing on issue)');
    line(...cols);
    line('softkey'.padEnd(18), fmt(soft.served1).padStart(9), fmt(soft.servedN).padStart(14), '-'.padStart(13));
    line(
      'awskms (emulator)'.padEnd(18),
      fmt(kms.served1).padStart(9),
      fmt(kms.servedN).padStart(14),
      fmt(kms.servedSignsPerCert, 3).padStart(13),
    );
    line('');
    line(
      'OCSP refresh (refreshDue: the pre-signed CA statuses, 2 responses each) and OCSP requests served (first in window, repeat)',
    );
    line(
      'backend'.padEnd(18),
      'certs'.padStart(7),
      'refreshes/s'.padStart(12),
      'KMS Sign/refresh'.padStart(17),
      'requests'.padStart(9),
      'Sign/first'.padStart(11),
      'Sign/repeat'.padStart(12),
    );
    line(
      'softkey'.padEnd(18),
      String(soft.refreshed).padStart(7),
      fmt(soft.refreshPerSecond).padStart(12),
      '-'.padStart(17),
      String(soft.ocspServed).padStart(9),
      '-'.padStart(11),
      '-'.padStart(12),
    );
    line(
      'awskms (emulator)'.padEnd(18),
      String(kms.refreshed).padStart(7),
      fmt(kms.refreshPerSecond).padStart(12),
      fmt(kms.signsPerRefresh, 3).padStart(17),
      String(kms.ocspServed).padStart(9),
      fmt(kms.signsPerOcspRequest, 3).padStart(11),
      fmt(kms.signsPerRepeat, 3).padStart(12),
    );
    line(`awskms/softkey refreshes: ${ratio(kms.refreshPerSecond, soft.refreshPerSecond)}`);
    line('targets: KMS Sign per issued certificate 1 (library; an audit checkpoint adds 1 per 1,000 entries).');
    line(
      'a responder key in KMS costs 1 Sign per agent per 30 s window per CertID hash asked: keep it out of KMS (init --responder-signer softkey|pkcs11).',
    );

    for (const [name, r] of [
      ['softkey', soft],
      ['awskms', kms],
    ] as const) {
      results[`${name}.sign.raw`] = r.rawSign;
      results[`${name}.sign.raw.x${INFLIGHT}`] = r.rawSignConcurrent;
      results[`${name}.cpuUsPerSign`] = r.cpuUsPerSign;
      results[`${name}.issued`] = r.lib1;
      results[`${name}.issued.x${INFLIGHT}`] = r.libN;
      results[`${name}.issued.served`] = r.served1;
      results[`${name}.issued.served.x${INFLIGHT}`] = r.servedN;
      results[`${name}.ocsp.refresh`] = r.refreshPerSecond;
    }
    if (kms.emulatorCpuUsPerSign !== undefined) results['awskms.emulatorCpuUsPerSign'] = kms.emulatorCpuUsPerSign;
    results['awskms.signPerCert'] = kms.libSignsPerCert;
    results['awskms.signPerCert.served'] = kms.servedSignsPerCert;
    results['awskms.signPerOcspRefresh'] = kms.signsPerRefresh;
    results['awskms.signPerOcspRequest'] = kms.signsPerOcspRequest;
    results['awskms.signPerOcspRepeat'] = kms.signsPerRepeat;
  } finally {
    await emu?.stop();
    rmSync(emuDir, { recursive: true, force: true });
  }
  return results;
}
