/**
 * HTTP load for the `serve --workers` bench (scale-workers.ts): `wrk` in its own process when it
 * is on PATH (C, one thread: it leaves the server processes most of the machine), else
 * autocannon in the bench process. Either way consecutive requests go to different answers
 * (one counter shared by every connection): connections that walk the same list in step ask
 * for the same cold answer at once, which measures the cache's cold path, not its steady state.
 *
 * CPU accounting from /proc (Linux): the CPU time a server's process tree used during a run,
 * and the load generator's own share, so the figures say who had the cores.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
}

export interface LoadResult {
  rps: number;
  p99Ms: number;
  errors: number;
  /** Cores the load generator itself used on average (wrk only; NaN for autocannon in-process). */
  generatorCores: number;
}

export const CONNECTIONS = 64;

export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** A Lua string literal of arbitrary bytes (decimal escapes: Lua 5.1 / LuaJIT). */
function luaBytes(b: Buffer): string {
  let s = '"';
  for (const byte of b) s += `\\${byte}`;
  return `${s}"`;
}

function wrkScript(requests: readonly LoadRequest[]): string {
  const items = requests.map((q) =>
    q.method === 'GET'
      ? `wrk.format("GET", ${luaBytes(Buffer.from(q.path))})`
      : `wrk.format("POST", ${luaBytes(Buffer.from(q.path))}, {["Content-Type"]="application/ocsp-request"}, ${luaBytes(q.body ?? Buffer.alloc(0))})`,
  );
  return `local reqs = {}
local n = 0
init = function(args)
${items.map((it) => `  n = n + 1; reqs[n] = ${it}`).join('\n')}
end
local i = 0
request = function()
  i = i % n + 1
  return reqs[i]
end
done = function(summary, latency, requests)
  local f = io.open("/proc/self/stat"); local stat = f:read("*a"); f:close()
  local fields = {}
  for w in string.gmatch(string.match(stat, "%) (.*)"), "%S+") do fields[#fields + 1] = w end
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"us":%d,"p99us":%d,"errors":%d,"non2xx":%d,"ticks":%d}\\n',
    summary.requests, summary.duration, latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status,
    tonumber(fields[12]) + tonumber(fields[13])))
end
`;
}

const CLK_TCK = 100;

/** A load run in progress: `stop()` ends it early (its result covers the time it ran). */
export interface RunningLoad {
  stop(): void;
  result: Promise<LoadResult>;
}

function startWrk(url: string, requests: readonly LoadRequest[], seconds: number): RunningLoad {
  const script = join(tmpdir(), `aca-wrk-${process.pid}-${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(script, wrkScript(requests));
  const p = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<string>((resolve, reject) => {
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.stderr.on('data', (d: Buffer) => (text += d.toString()));
    p.on('error', reject);
    // wrk stops on SIGINT and still reports
    p.on('exit', (code, signal) =>
      code === 0 || signal === 'SIGINT' ? resolve(text) : reject(new Error(`wrk exited ${code ?? signal}: ${text}`)),
    );
  })
    .then((out) => {
      const m = /RESULT (\{.*\})/.exec(out);
      if (!m) throw new Error(`wrk printed no result: ${out}`);
      const r = JSON.parse(m[1]!) as Record<string, number>;
      const s = r.us! / 1e6;
      return {
        rps: r.requests! / s,
        p99Ms: r.p99us! / 1000,
        errors: r.errors! + r.non2xx!,
        generatorCores: r.ticks! / CLK_TCK / s,
      };
    })
    .finally(() => rmSync(script, { force: true }));
  return { stop: () => p.kill('SIGINT'), result };
}

function startAutocannon(url: string, requests: readonly LoadRequest[], seconds: number): RunningLoad {
  let next = 0;
  let settle: (err: Error | null, r: autocannon.Result) => void = () => {};
  const result = new Promise<LoadResult>((resolve, reject) => {
    settle = (err, r) =>
      err
        ? reject(err)
        : resolve({ rps: r.requests.average, p99Ms: r.latency.p99, errors: r.errors + r.non2xx, generatorCores: NaN });
  });
  const instance = autocannon(
    {
      url,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          setupRequest: (req) => {
            const q = requests[next++ % requests.length]!;
            return {
              ...req,
              method: q.method,
              path: q.path,
              ...(q.body ? { body: q.body, headers: { 'content-type': 'application/ocsp-request' } } : {}),
            };
          },
        },
      ],
    },
    (err: Error | null, r: autocannon.Result) => settle(err, r),
  );
  return { stop: () => instance.stop(), result };
}

export function startLoad(url: string, requests: readonly LoadRequest[], seconds: number): RunningLoad {
  return hasWrk() ? startWrk(url, requests, seconds) : startAutocannon(url, requests, seconds);
}

export function runLoad(url: string, requests: readonly LoadRequest[], seconds: number): Promise<LoadResult> {
  return startLoad(url, requests, seconds).result;
}

/** pid and every descendant (Linux /proc). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU milliseconds (user + system) used so far by `pid`'s process tree (NaN off Linux). */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      if (p === pid) return NaN;
    }
  }
  return (ticks * 1000) / CLK_TCK;
}
