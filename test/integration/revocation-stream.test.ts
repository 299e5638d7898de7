/**
 * GET /api/v1/revocations/stream: server-sent events for every revocation, hold and release as
 * it commits (admin API and the library alike), resumable with Last-Event-ID / ?after=; admin
 * tokens see every tenant, operator and auditor tokens their own tenant's agents only; closed
 * cleanly when the server stops.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestCa, type TestCa } from '../helpers/ca-server.js';

let ca: TestCa;

beforeAll(async () => {
  ca = await startTestCa();
});
afterAll(async () => {
  await ca?.close();
});

interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** Opens the stream and collects parsed events; `until(n)` waits (bounded) for n of them. */
function openStream(headers: Record<string, string> = {}, query = '') {
  const events: SseEvent[] = [];
  let buffer = '';
  let res: IncomingMessage | undefined;
  const waiters: (() => void)[] = [];
  const url = new URL(`${ca.url}/api/v1/revocations/stream${query}`);
  const req = httpRequest(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers } });
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(': '))
              .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
          );
          if (fields.data) events.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data) });
        }
        for (const w of waiters.splice(0)) w();
      });
      resolve(r);
    });
    req.on('error', reject);
  });
  req.end();
  return {
    events,
    opened,
    async until(n: number, ms = 10_000): Promise<SseEvent[]> {
      const deadline = Date.now() + ms;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} of ${n} events within ${ms} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
      return events;
    },
    close() {
      req.destroy();
      res?.destroy();
    },
  };
}

describe('revocation stream (SSE)', () => {
  it('pushes revoke, hold and release as they commit, with agent and journal seq; resumes after Last-Event-ID', async () => {
    const s = openStream();
    const res = await s.opened;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const a = await ca.issueAgent('stream-a', { tenant: 'acme' });
    const b = await ca.issueAgent('stream-b');
    expect(
      (await ca.admin('POST', `/api/v1/certificates/${a.serial}/revoke`, { reason: 'keyCompromise' })).status,
    ).toBe(200);
    await ca.authority.hold(b.serial, { actor: 'test' });
    await ca.authority.release(b.serial, { actor: 'test' });
    const events = await s.until(3);
    expect(events.map((e) => [e.event, e.data.serial, e.data.reason])).toEqual([
      ['revoked', a.serial, 'keyCompromise'],
      ['held', b.serial, 'certificateHold'],
      ['released', b.serial, 'certificateHold'],
    ]);
    expect(events[0]!.data).toMatchObject({ agentId: 'stream-a', tenant: 'acme', issuerId: 'intermediate' });
    const seqs = events.map((e) => Number(e.id));
    expect(seqs[1]).toBeGreaterThan(seqs[0]!);
    expect(seqs[2]).toBeGreaterThan(seqs[1]!);
    s.close();

    // A client that saw only the first event reconnects: it gets the other two, not the first again.
    const resumed = openStream({ 'last-event-id': events[0]!.id });
    expect((await resumed.until(2)).map((e) => e.id)).toEqual([events[1]!.id, events[2]!.id]);
    const c = await ca.issueAgent('stream-c');
    await ca.authority.revoke(c.serial, { reason: 'superseded', actor: 'test' });
    expect((await resumed.until(3))[2]!.data).toMatchObject({
      serial: c.serial,
      kind: 'revoked',
      reason: 'superseded',
    });
    resumed.close();

    // ?after= for EventSource's first connect.
    const viaQuery = openStream({}, `?after=${events[1]!.id}`);
    expect((await viaQuery.until(2)).map((e) => e.event)).toEqual(['released', 'revoked']);
    viaQuery.close();
  });

  it("an operator token streams its own tenant's changes only", async () => {
    expect((await ca.admin('POST', '/api/v1/tenants', { name: 'stream-t1' })).status).toBe(201);
    const tok = await ca.admin('POST', '/api/v1/tokens', { name: 'stream-op', role: 'operator', tenant: 'stream-t1' });
    expect(tok.status).toBe(201);
    const s = openStream({ authorization: `Bearer ${tok.json.token}` });
    expect((await s.opened).statusCode).toBe(200);
    const theirs = await ca.issueAgent('stream-other', { tenant: 'stream-t2' });
    const mine = await ca.issueAgent('stream-mine', { tenant: 'stream-t1' });
    await ca.authority.revoke(theirs.serial, { reason: 'superseded', actor: 'test' });
    await ca.authority.revoke(mine.serial, { reason: 'superseded', actor: 'test' });
    const events = await s.until(1);
    // give the other tenant's change every chance to (wrongly) arrive after ours
    await new Promise((r) => setTimeout(r, 300));
    expect(events.map((e) => e.data.serial)).toEqual([mine.serial]);
    s.close();
  });

  it('needs a token and a numeric cursor (problem+json)', async () => {
    const noToken = await fetch(`${ca.url}/api/v1/revocations/stream`);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('content-type')).toContain('application/problem+json');
    const bad = await fetch(`${ca.url}/api/v1/revocations/stream`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'last-event-id': 'yesterday' },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('ACA_ERR_INPUT_INVALID');
  });

  it('an open stream does not hold up server shutdown', async () => {
    const other = await startTestCaForShutdown();
    const s = openStream({}, '');
    await s.opened;
    s.close();
    await other.close();
  });
});

/** A second CA whose close() must return although a client keeps its stream open. */
async function startTestCaForShutdown() {
  const second = await startTestCa();
  const req = httpRequest(new URL(`${second.url}/api/v1/revocations/stream`), {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  const ended = new Promise<void>((resolve) => {
    req.on('response', (r) => {
      r.resume();
      r.on('end', resolve);
      r.on('close', resolve);
    });
    req.on('error', () => resolve());
  });
  req.end();
  await new Promise((r) => setTimeout(r, 200));
  return {
    async close() {
      await second.close();
      await ended;
    },
  };
}
