/**
 * The committed sample report (vectors/reports/trader-7-report.zip, `npm run report-sample`)
 * keeps verifying with today's code: the package format is a contract with whoever archived a
 * report, so a change that breaks it must be a new format, not a silent one. A flipped byte in
 * any of its files fails it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPackage } from '../../src/reports/package.js';
import { verifyReportPackage } from '../../src/reports/verify-report.js';

const ZIP = join(__dirname, '..', '..', 'vectors', 'reports', 'trader-7-report.zip');

describe('vectors/reports/trader-7-report.zip', () => {
  it('verifies, pinned to its own root', async () => {
    const files = readPackage(ZIP);
    const v = await verifyReportPackage(files, files.get('ca/root.pem'));
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.manifest?.subject).toEqual({ agentId: 'trader-7' });
  });

  it.each(['report.pdf', 'evidence.jsonl', 'manifest.json', 'manifest.jws', 'ca/intermediate.pem'])(
    'fails with one byte of %s changed',
    async (name) => {
      const files = readPackage(ZIP);
      const b = Buffer.from(files.get(name)!);
      const at = name === 'manifest.jws' ? b.length - 8 : b.length >> 1;
      b[at] = b[at]! ^ 0x02;
      files.set(name, b);
      const v = await verifyReportPackage(files);
      expect(v.ok).toBe(false);
      expect(
        v.checks
          .filter((c) => !c.ok)
          .map((c) => c.check)
          .join(' '),
      ).toContain(name);
    },
  );
});
