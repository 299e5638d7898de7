/**
 * Revocation visibility across `serve --workers N` processes under load (scale-workers.ts):
 * while the load generator keeps every worker busy with OCSP GETs, revoke certificates one at a
 * time through the public API and, right after each acknowledgement, ask every worker (a new
 * connection per request: node:cluster hands connections to the workers in turn) for that
 * certificate's OCSP answer. Each victim was answered `good` by every worker first, so each
 * worker had it cached. Counts answers still `good` after the acknowledgement (the promise:
 * none) and times revoke-sent -> every worker answers `revoked`.
 */
import http from 'node:http';
import { parseOcspResponse } from '../../src/ocsp/response-parse.js';

interface Answer {
  worker: string;
  status: string;
}

function getOnce(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let status = `http ${res.statusCode}`;
        try {
          status = parseOcspResponse(body).basic?.responses[0]?.status.kind ?? status;
        } catch {
          // not an OCSP response: reported as its HTTP status
        }
        resolve({ worker: String(res.headers['x-agent-ca-worker']), status });
      });
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Asks until every worker answered; per worker, the first answer's status. */
async function fromEveryWorker(url: string, workers: number): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  for (let i = 0; i < 50 * workers && seen.size < workers; i++) {
    const a = await getOnce(url);
    if (!seen.has(a.worker)) seen.set(a.worker, a.status);
  }
  if (seen.size < workers) throw new Error(`only workers ${[...seen.keys()].join(',')} answered ${url}`);
  return seen;
}

export interface VisibilitySample {
  /** revoke sent -> API acknowledgement, ms. */
  ackMs: number;
  /** revoke sent -> every worker answered revoked, ms. */
  visibleMs: number;
  /** Workers whose first answer after the acknowledgement was not `revoked`. */
  stale: number;
}

/** Every victim answered `good` by every worker (so cached there). */
export async function warmVictims(url: string, workers: number, victimPaths: readonly string[]): Promise<void> {
  for (const p of victimPaths) {
    for (const [w, s] of await fromEveryWorker(`${url}${p}`, workers))
      if (s !== 'good') throw new Error(`worker ${w} answered ${s} for a victim before its revocation`);
  }
}

export async function revokeAndWatch(
  url: string,
  workers: number,
  token: string,
  victim: { serial: string; path: string },
): Promise<VisibilitySample> {
  const t0 = performance.now();
  const ack = await fetch(`${url}/api/v1/certificates/${victim.serial}/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{"reason":"keyCompromise"}',
  });
  if (ack.status !== 200) throw new Error(`revoke answered ${ack.status}: ${await ack.text()}`);
  const acked = performance.now();
  const first = await fromEveryWorker(`${url}${victim.path}`, workers);
  let stale = 0;
  for (const s of first.values()) if (s !== 'revoked') stale++;
  // a stale worker (the promise broken) is asked again until it answers revoked, for the time
  for (const [w, s] of first) {
    if (s === 'revoked') continue;
    for (;;) {
      const a = await getOnce(`${url}${victim.path}`);
      if (a.worker === w && a.status === 'revoked') break;
      if (performance.now() - acked > 10_000) throw new Error(`worker ${w} still not revoked after 10 s`);
    }
  }
  return { ackMs: acked - t0, visibleMs: performance.now() - t0, stale };
}
