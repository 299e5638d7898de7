/**
 * Serials (RFC 5280 §4.1.2.2, CA/B BR §7.1): positive, 16-17 content octets from 128 random
 * bits, unique per CA. Uniqueness is enforced by the store's atomic commit
 * (ISSUE_SERIAL_COLLISION), which is tested by forcing a repeat serial.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Authority } from '../../../src/authority/authority.js';
import { unsignedInteger } from '../../../src/asn1/der.js';
import { FixedClock } from '../../../src/clock.js';
import { AgentCaError } from '../../../src/errors.js';
import * as serialModule from '../../../src/profile/serial.js';
import { parseSerial, randomSerial, serialFromMagnitude } from '../../../src/profile/serial.js';
import { createMemoryStore } from '../../../src/store/memory-store.js';
import { agentTbs, NOW, spki } from '../lint/tbs-fixtures.js';

vi.mock('../../../src/profile/serial.js', async (importOriginal) => {
  const real = await importOriginal<typeof serialModule>();
  return { ...real, randomSerial: vi.fn(real.randomSerial) };
});

describe('randomSerial', () => {
  it('is a positive DER INTEGER of 16 or 17 content octets carrying 128 bits, and unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const s = randomSerial();
      expect(s.magnitude).toHaveLength(16);
      expect(s.magnitude[0]).not.toBe(0);
      expect(s.der[0]).toBe(0x02);
      const len = s.der[1]!;
      expect(len === 16 || len === 17).toBe(true);
      expect(s.der).toHaveLength(len + 2);
      expect(s.der[2]! & 0x80).toBe(0); // positive
      if (len === 17) expect(s.der[2] === 0 && (s.der[3]! & 0x80) !== 0).toBe(true); // sign octet only when needed
      expect(s.serial).toMatch(/^[0-9a-f]{32}$/);
      expect(s.serial).toBe(serialFromMagnitude(s.magnitude));
      seen.add(s.serial);
    }
    expect(seen.size).toBe(500);
  });

  it('buildTbs uses a fixed serial when given one', () => {
    const magnitude = Buffer.from('7f'.repeat(16), 'hex');
    const t = agentTbs({ serial: { magnitude, der: unsignedInteger(magnitude) } });
    expect(t.serial.equals(magnitude)).toBe(true);
    expect(t.serialDer.equals(unsignedInteger(magnitude))).toBe(true);
  });
});

describe('parseSerial / serialFromMagnitude', () => {
  it('accepts what openssl prints and canonicalises to lowercase even-length hex', () => {
    expect(parseSerial('4A3F')).toBe('4a3f');
    expect(parseSerial('4a:3f:01')).toBe('4a3f01');
    expect(parseSerial(' 0x0A3F ')).toBe('0a3f');
    expect(parseSerial('000abc')).toBe('0abc');
    expect(parseSerial('0')).toBe('00');
    expect(serialFromMagnitude(Buffer.from([0, 0, 0x12]))).toBe('12');
  });
  it.each(['', 'xyz', '12 34 zz', 'ab'.repeat(21)])('refuses %j with INPUT_SERIAL_MALFORMED', (s) => {
    expect(() => parseSerial(s)).toThrowError(expect.objectContaining({ code: 'ACA_ERR_INPUT_SERIAL_MALFORMED' }));
  });
});

describe('the same serial twice', () => {
  describe('Authority', () => {
    let dir: string;
    let authority: Authority;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'agent-ca-serial-'));
      authority = new Authority({ dataDir: dir, store: await createMemoryStore(), clock: new FixedClock(NOW) });
      await authority.init({ keyType: 'p256' });
    });
    afterAll(async () => {
      await authority.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses a repeated serial with ISSUE_SERIAL_COLLISION and stores nothing new', async () => {
      const magnitude = Buffer.from('6b'.repeat(16), 'hex');
      const fixed = { magnitude, der: unsignedInteger(magnitude), serial: serialFromMagnitude(magnitude) };
      const mocked = vi.mocked(serialModule.randomSerial);
      mocked.mockReturnValue(fixed);
      try {
        const req = { agentId: 'twin-bot', publicKey: spki('ed25519') };
        const first = await authority.issue(req);
        expect(first.serial).toBe(fixed.serial);
        const count = await authority.store.certificates.count();
        let err: unknown;
        try {
          await authority.issue(req);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(AgentCaError);
        expect((err as AgentCaError).code).toBe('ACA_ERR_ISSUE_SERIAL_COLLISION');
        expect((err as AgentCaError).httpStatus).toBe(409);
        expect(await authority.store.certificates.count()).toBe(count);
        expect((await authority.store.certificates.get(fixed.serial))?.der.equals(first.der)).toBe(true);
      } finally {
        mocked.mockReset();
        const real = await vi.importActual<typeof serialModule>('../../../src/profile/serial.js');
        mocked.mockImplementation(real.randomSerial);
      }
      const next = await authority.issue({ agentId: 'next-bot', publicKey: spki('ed25519') });
      expect(next.serial).not.toBe(fixed.serial);
    });
  });
});
