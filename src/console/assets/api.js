// The console's only way to the server: /api/v1 with the bearer token (docs/console.md).
// The token lives in sessionStorage: gone when the tab closes, never in a cookie or localStorage.

const KEY = 'agent-ca.console.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? '';
  }
}

function headers(extra = {}) {
  const t = token.get();
  return { ...(t ? { authorization: `Bearer ${t}` } : {}), ...extra };
}

export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** Fetches a file with the token and hands it to the browser as a download. */
export async function download(path, filename) {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch {
      // not problem+json: the status says enough
    }
    throw new ApiError(res.status, problem);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A server-sent event stream read with fetch (EventSource cannot send the Authorization header).
 * Reconnects after `retry` ms with Last-Event-ID, so no event is lost or seen twice.
 * Returns a function that closes it.
 */
export function stream(path, onEvent, onState) {
  const ctl = new AbortController();
  let lastId;
  let retry = 2000;
  const connect = async () => {
    while (!ctl.signal.aborted) {
      try {
        const res = await fetch(path, {
          headers: headers(lastId !== undefined ? { 'last-event-id': lastId, accept: 'text/event-stream' } : {}),
          signal: ctl.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = { event: 'message', data: '', id: undefined };
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const c = line.indexOf(':');
              const field = c < 0 ? line : line.slice(0, c);
              const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
              if (field === 'event') ev.event = v;
              else if (field === 'data') ev.data += (ev.data ? '\n' : '') + v;
              else if (field === 'id') ev.id = v;
              else if (field === 'retry' && /^\d+$/.test(v)) retry = Number(v);
            }
            if (ev.id !== undefined) lastId = ev.id;
            if (ev.data) onEvent(ev.event, JSON.parse(ev.data));
          }
        }
      } catch {
        if (ctl.signal.aborted) return;
      }
      onState(false);
      await new Promise((r) => setTimeout(r, retry));
    }
  };
  void connect();
  return () => ctl.abort();
}
