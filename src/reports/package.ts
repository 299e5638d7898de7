/**
 * The report package as files: written to a directory, zipped (fflate; deflate level 1, which
 * on JSON lines gets most of level 6's ratio at a fraction of its time; the PDF is stored, it
 * is compressed already; entries in a fixed order with the report's own time, so equal inputs
 * give equal bytes), or read back from
 * either for `report verify`. Reading refuses what could escape the target or exhaust memory:
 * absolute or `..` paths, more than MAX_FILES entries, more than MAX_UNZIPPED bytes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { AgentCaError } from '../errors.js';

export type PackageFiles = Map<string, Buffer>;

const MAX_FILES = 64;
const MAX_UNZIPPED = 2 * 1024 ** 3;

function safeName(name: string): string {
  if (name.startsWith('/') || name.includes('\\') || name.split('/').some((p) => p === '..' || p === '')) {
    throw new AgentCaError('INPUT_INVALID', `package entry ${JSON.stringify(name)} is not a plain relative path`);
  }
  return name;
}

export function zipPackage(files: PackageFiles, time: Date): Buffer {
  const tree: Zippable = {};
  for (const [name, data] of files)
    tree[safeName(name)] = [data, { mtime: time, level: name.endsWith('.pdf') ? 0 : 1 }];
  return Buffer.from(zipSync(tree));
}

export function writePackageDir(dir: string, files: PackageFiles): void {
  for (const [name, data] of files) {
    const path = join(dir, safeName(name));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
}

/** A directory or a .zip; INPUT_INVALID when it is neither or is unsafe. */
export function readPackage(path: string): PackageFiles {
  if (!existsSync(path)) throw new AgentCaError('INPUT_INVALID', `${path} does not exist`);
  const files: PackageFiles = new Map();
  if (statSync(path).isDirectory()) {
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) {
          if (files.size >= MAX_FILES)
            throw new AgentCaError('INPUT_INVALID', `${path} holds more than ${MAX_FILES} files`);
          files.set(relative(path, p).split(sep).join('/'), readFileSync(p));
        }
      }
    };
    walk(path);
    return files;
  }
  const data = readFileSync(path);
  let total = 0;
  let count = 0;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(data, {
      filter: (f) => {
        if (++count > MAX_FILES)
          throw new AgentCaError('INPUT_INVALID', `${path} holds more than ${MAX_FILES} entries`);
        total += f.originalSize;
        if (total > MAX_UNZIPPED)
          throw new AgentCaError('INPUT_INVALID', `${path} unpacks to more than ${MAX_UNZIPPED} bytes`);
        return !f.name.endsWith('/');
      },
    });
  } catch (e) {
    if (e instanceof AgentCaError) throw e;
    throw new AgentCaError(
      'INPUT_INVALID',
      `${path} is neither a directory nor a readable zip: ${(e as Error).message}`,
    );
  }
  for (const [name, bytes] of Object.entries(entries)) files.set(safeName(name), Buffer.from(bytes));
  return files;
}
