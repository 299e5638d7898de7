/**
 * poppler-utils as the PDF oracle: pdftotext reads what a regulator reads, pdftoppm renders a
 * page as a rasterising viewer would. Locally the tests skip with the reason when poppler is
 * missing; with CI=true that is a failure (.ci/run installs poppler-utils).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function popplerAvailable(): { available: boolean; reason: string } {
  const r = spawnSync('pdftotext', ['-v'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 || (r.stderr ?? '').includes('pdftotext')
    ? { available: true, reason: '' }
    : { available: false, reason: 'pdftotext (poppler-utils) is not installed' };
}

/** The text of the PDF, in reading order (-layout keeps table rows on one line). */
export function pdfText(pdf: Uint8Array, opts: { first?: number; last?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ca-pdf-'));
  try {
    writeFileSync(join(dir, 'r.pdf'), pdf);
    const range = [...(opts.first ? ['-f', String(opts.first)] : []), ...(opts.last ? ['-l', String(opts.last)] : [])];
    const r = spawnSync('pdftotext', ['-layout', ...range, 'r.pdf', '-'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 30_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`pdftotext failed: ${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Renders one page as 8-bit greyscale (PGM) at `dpi`; returns width, height and pixels. */
export function renderPage(
  pdf: Uint8Array,
  page: number,
  dpi = 50,
): { width: number; height: number; pixels: Buffer; status: number; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'agent-ca-ppm-'));
  try {
    writeFileSync(join(dir, 'r.pdf'), pdf);
    const r = spawnSync(
      'pdftoppm',
      ['-gray', '-r', String(dpi), '-f', String(page), '-l', String(page), '-singlefile', 'r.pdf', 'out'],
      { cwd: dir, encoding: 'utf8', timeout: 30_000 },
    );
    if (r.status !== 0)
      return { width: 0, height: 0, pixels: Buffer.alloc(0), status: r.status ?? -1, stderr: r.stderr };
    const pgm = readFileSync(join(dir, 'out.pgm'));
    // P5\n<w> <h>\n<max>\n<bytes>
    const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString('latin1'))!;
    return {
      width: Number(header[1]),
      height: Number(header[2]),
      pixels: pgm.subarray(header[0].length),
      status: 0,
      stderr: r.stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Share of pixels in the box (fractions of the page) darker than `below` (0..255). */
export function inkShare(
  img: { width: number; height: number; pixels: Buffer },
  box: { x0: number; y0: number; x1: number; y1: number },
  below = 200,
): number {
  let dark = 0;
  let all = 0;
  for (let y = Math.floor(box.y0 * img.height); y < Math.floor(box.y1 * img.height); y++) {
    for (let x = Math.floor(box.x0 * img.width); x < Math.floor(box.x1 * img.width); x++) {
      all++;
      if (img.pixels[y * img.width + x]! < below) dark++;
    }
  }
  return all ? dark / all : 0;
}
