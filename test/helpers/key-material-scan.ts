/**
 * Finds private key material in a directory tree (key custody: with a KMS or HSM key, a scan of
 * the data dir finds no private key material). Every file is read as raw bytes and looked at through
 * several views, because the store does not keep bytes verbatim:
 *  - raw bytes;
 *  - LevelDB decoded: write-ahead log and MANIFEST records reassembled across 32 KiB blocks
 *    (a value can be cut by a 7-byte block header), table (.ldb/.sst) blocks decompressed
 *    (Snappy, the default in classic-level);
 *  - text decoded: PEM bodies (also inside JSON strings, "\n" escaped), base64 / base64url runs
 *    at every alignment (the LevelDB adapter stores buffers as base64 inside JSON) and hex runs;
 *    applied twice, so base64 inside a decoded view is seen too.
 * In every view it looks for PEM "PRIVATE KEY" armour, DER PrivateKeyInfo / OneAsymmetricKey
 * (RFC 5208, RFC 5958), EncryptedPrivateKeyInfo, ECPrivateKey (RFC 5915) and RSAPrivateKey
 * (RFC 8017 A.1.2) structures, and - strongest - the actual private scalars / primes of keys
 * given as needles (e.g. every key the KMS emulator holds, read from its own data dir).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

export type KeyMaterialKind =
  'pem-private-key' | 'pkcs8' | 'pkcs8-encrypted' | 'ec-private-key' | 'rsa-private-key' | 'key-bytes';

/** Secret bytes to look for (a private scalar, prime or exponent), at least 16 bytes. */
export interface KeyNeedle {
  label: string;
  bytes: Buffer;
}

export interface KeyMaterialFinding {
  /** Path relative to the scanned root. */
  file: string;
  kind: KeyMaterialKind;
  /** Which view found it, e.g. `raw`, `leveldb-log>base64`. */
  via: string;
  offset: number;
  detail: string;
}

export interface KeyMaterialReport {
  files: number;
  bytes: number;
  /** LevelDB log/MANIFEST/table files decoded (a scan of a store that saw none proves little). */
  levelDbFiles: number;
  /** Files that looked like LevelDB but did not decode (their raw bytes were still scanned). */
  decodeErrors: string[];
  findings: KeyMaterialFinding[];
}

export interface ScanOptions {
  needles?: readonly KeyNeedle[];
  /** Files larger than this are still scanned raw, but not decoded. Default 32 MiB. */
  maxDecodeBytes?: number;
}

// ---- needles ------------------------------------------------------------------------------

/** The secret components of a private key: d (EC, Ed25519 seed, RSA), p, q, dp, dq, qi (RSA). */
export function privateKeyNeedles(key: KeyObject | string | Buffer, label: string): KeyNeedle[] {
  const k = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  const jwk = k.export({ format: 'jwk' });
  const out: KeyNeedle[] = [];
  for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const v = jwk[part];
    if (typeof v !== 'string') continue;
    const bytes = Buffer.from(v, 'base64url');
    if (bytes.length >= 16) out.push({ label: `${label}.${part}`, bytes });
  }
  if (out.length === 0) throw new Error(`no private components found in ${label}`);
  return out;
}

/** Needles for every key the project's KMS emulator holds (<dataDir>/keys/<id>.json, PKCS#8 PEM inside). */
export function kmsEmulatorNeedles(emulatorDataDir: string): KeyNeedle[] {
  const dir = join(emulatorDataDir, 'keys');
  const out: KeyNeedle[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.json')) continue;
    const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { keyId: string; privateKeyPem: string };
    out.push(...privateKeyNeedles(rec.privateKeyPem, `kms:${rec.keyId}`));
  }
  return out;
}

/** Needles for the unencrypted soft keys of a softkey data dir (<dataDir>/keys/*.key.pem). */
export function softKeyNeedles(dataDir: string, passphrase?: string): KeyNeedle[] {
  const dir = join(dataDir, 'keys');
  const out: KeyNeedle[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.key.pem')) continue;
    const pem = readFileSync(join(dir, f), 'utf8');
    out.push(
      ...privateKeyNeedles(
        passphrase ? createPrivateKey({ key: pem, format: 'pem', passphrase }) : pem,
        `softkey:${f.replace(/\.key\.pem$/, '')}`,
      ),
    );
  }
  return out;
}

// ---- LevelDB -------------------------------------------------------------------------------

function varint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (let i = pos; i < buf.length && shift <= 63; i++) {
    const b = buf[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, i + 1];
    shift += 7;
  }
  throw new Error(`bad varint at ${pos}`);
}

/** Snappy raw format (github.com/google/snappy format_description.txt). */
export function snappyDecompress(src: Buffer): Buffer {
  const [length, start] = varint(src, 0);
  if (length > 1 << 28) throw new Error(`snappy: implausible length ${length}`);
  const out = Buffer.alloc(length);
  let o = 0;
  let i = start;
  while (i < src.length) {
    const tag = src[i++]!;
    const type = tag & 3;
    if (type === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const n = len - 59;
        len = src.readUIntLE(i, n);
        i += n;
      }
      len += 1;
      if (i + len > src.length || o + len > length) throw new Error('snappy: literal out of bounds');
      src.copy(out, o, i, i + len);
      i += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | src[i++]!;
    } else if (type === 2) {
      len = (tag >> 2) + 1;
      offset = src.readUInt16LE(i);
      i += 2;
    } else {
      len = (tag >> 2) + 1;
      offset = src.readUInt32LE(i);
      i += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new Error('snappy: copy out of bounds');
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new Error(`snappy: produced ${o} of ${length} bytes`);
  return out;
}

const LOG_BLOCK = 32_768;
const LOG_HEADER = 7;

/** Log format (leveldb doc/log_format.md): records FULL=1, FIRST=2, MIDDLE=3, LAST=4, reassembled. */
export function levelDbLogRecords(buf: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let pending: Buffer[] = [];
  let pos = 0;
  while (pos + LOG_HEADER <= buf.length) {
    const left = LOG_BLOCK - (pos % LOG_BLOCK);
    if (left < LOG_HEADER) {
      pos += left; // block trailer
      continue;
    }
    const len = buf.readUInt16LE(pos + 4);
    const type = buf[pos + 6]!;
    if (type === 0 && len === 0) {
      pos += left; // zero padding (preallocated or trailer)
      continue;
    }
    if (pos + LOG_HEADER + len > buf.length) break; // torn tail
    const data = buf.subarray(pos + LOG_HEADER, pos + LOG_HEADER + len);
    pos += LOG_HEADER + len;
    if (type === 1) records.push(Buffer.from(data));
    else if (type === 2) pending = [data];
    else if (type === 3) pending.push(data);
    else if (type === 4) {
      pending.push(data);
      records.push(Buffer.concat(pending));
      pending = [];
    } else throw new Error(`log record type ${type} at ${pos}`);
  }
  if (pending.length) records.push(Buffer.concat(pending));
  return records;
}

const TABLE_MAGIC = Buffer.from('57fb808b247547db', 'hex');

function blockHandle(buf: Buffer, pos: number): { offset: number; size: number; next: number } {
  const [offset, p1] = varint(buf, pos);
  const [size, p2] = varint(buf, p1);
  return { offset, size, next: p2 };
}

function readTableBlock(file: Buffer, h: { offset: number; size: number }): Buffer {
  if (h.offset + h.size + 5 > file.length) throw new Error('table block out of bounds');
  const raw = file.subarray(h.offset, h.offset + h.size);
  const type = file[h.offset + h.size]!;
  if (type === 0) return raw;
  if (type === 1) return snappyDecompress(raw);
  throw new Error(`table block compression type ${type}`);
}

/** Table format (leveldb doc/table_format.md): footer -> index block -> every data block, decompressed. */
export function levelDbTableBlocks(file: Buffer): Buffer[] {
  if (file.length < 48 || !file.subarray(file.length - 8).equals(TABLE_MAGIC))
    throw new Error('no LevelDB table magic');
  const footer = file.subarray(file.length - 48);
  const meta = blockHandle(footer, 0);
  const index = blockHandle(footer, meta.next);
  const indexBlock = readTableBlock(file, index);
  const restarts = indexBlock.readUInt32LE(indexBlock.length - 4);
  const limit = indexBlock.length - 4 - 4 * restarts;
  const blocks: Buffer[] = [readTableBlock(file, meta)];
  let pos = 0;
  while (pos < limit) {
    const [, p1] = varint(indexBlock, pos); // shared key bytes
    const [nonShared, p2] = varint(indexBlock, p1);
    const [valueLen, p3] = varint(indexBlock, p2);
    const value = indexBlock.subarray(p3 + nonShared, p3 + nonShared + valueLen);
    blocks.push(readTableBlock(file, blockHandle(value, 0)));
    pos = p3 + nonShared + valueLen;
  }
  return blocks;
}

/** The decoded content of a LevelDB file, or undefined if the name is not one LevelDB writes records to. */
export function levelDbContents(
  name: string,
  bytes: Buffer,
): { kind: 'leveldb-log' | 'leveldb-table'; data: Buffer } | undefined {
  if (/^\d+\.log$/.test(name) || /^MANIFEST-\d+$/.test(name))
    return { kind: 'leveldb-log', data: Buffer.concat(levelDbLogRecords(bytes)) };
  if (/^\d+\.(ldb|sst)$/.test(name)) return { kind: 'leveldb-table', data: Buffer.concat(levelDbTableBlocks(bytes)) };
  return undefined;
}

// ---- structures ----------------------------------------------------------------------------

interface Tlv {
  tag: number;
  start: number;
  header: number;
  length: number;
}

function tlv(buf: Buffer, pos: number): Tlv | undefined {
  if (pos + 2 > buf.length) return undefined;
  const tag = buf[pos]!;
  const first = buf[pos + 1]!;
  if (first < 0x80) return { tag, start: pos, header: 2, length: first };
  const n = first & 0x7f;
  if (n === 0 || n > 3 || pos + 2 + n > buf.length) return undefined;
  const length = buf.readUIntBE(pos + 2, n);
  if (length < 0x80 || (n > 1 && length < 1 << (8 * (n - 1)))) return undefined; // not minimal DER
  return { tag, start: pos, header: 2 + n, length };
}

const KEY_ALGORITHMS = new Map<string, string>([
  ['2a864886f70d010101', 'rsaEncryption'],
  ['2a864886f70d01010a', 'RSASSA-PSS'],
  ['2a8648ce3d0201', 'id-ecPublicKey'],
  ['2b6570', 'Ed25519'],
  ['2b6571', 'Ed448'],
  ['2b656e', 'X25519'],
  ['2b656f', 'X448'],
  ['2a8648ce380401', 'DSA'],
]);
const ENCRYPTION_SCHEMES = new Map<string, string>([
  ['2a864886f70d01050d', 'PBES2'],
  ['2a864886f70d010c0103', 'pbeWithSHAAnd3-KeyTripleDES-CBC'],
  ['2a864886f70d010c0106', 'pbeWithSHAAnd40BitRC2-CBC'],
]);

function oidAt(buf: Buffer, pos: number): string | undefined {
  const t = tlv(buf, pos);
  if (!t || t.tag !== 0x06 || t.length < 2 || t.length > 16 || pos + t.header + t.length > buf.length) return undefined;
  return buf.subarray(pos + t.header, pos + t.header + t.length).toString('hex');
}

/** Which private-key structure (if any) starts at `pos` (a 0x30 byte). */
function structureAt(buf: Buffer, pos: number): { kind: KeyMaterialKind; detail: string } | undefined {
  const outer = tlv(buf, pos);
  if (!outer || outer.tag !== 0x30 || outer.length < 32) return undefined;
  const p = pos + outer.header;
  const first = tlv(buf, p);
  if (!first) return undefined;
  // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
  if (first.tag === 0x30) {
    const scheme = ENCRYPTION_SCHEMES.get(oidAt(buf, p + first.header) ?? '');
    return scheme ? { kind: 'pkcs8-encrypted', detail: scheme } : undefined;
  }
  if (first.tag !== 0x02 || first.length !== 1) return undefined;
  const version = buf[p + 2];
  const q = p + 3;
  const second = tlv(buf, q);
  if (!second) return undefined;
  // PrivateKeyInfo / OneAsymmetricKey: version 0|1, then AlgorithmIdentifier { OID, ... }
  if ((version === 0 || version === 1) && second.tag === 0x30) {
    const alg = KEY_ALGORITHMS.get(oidAt(buf, q + second.header) ?? '');
    return alg ? { kind: 'pkcs8', detail: alg } : undefined;
  }
  // ECPrivateKey: version 1, privateKey OCTET STRING (field size), then [0] params or [1] publicKey
  if (version === 1 && second.tag === 0x04 && [32, 48, 66].includes(second.length)) {
    const after = buf[q + second.header + second.length];
    return after === 0xa0 || after === 0xa1
      ? { kind: 'ec-private-key', detail: `${second.length * 8}-bit scalar` }
      : undefined;
  }
  // RSAPrivateKey: version 0, then eight INTEGERs (n, e, d, p, q, dP, dQ, qInv)
  if (version === 0 && second.tag === 0x02 && second.length >= 64) {
    let r = q;
    for (let k = 0; k < 8; k++) {
      const t = tlv(buf, r);
      if (!t || t.tag !== 0x02) return undefined;
      r += t.header + t.length;
    }
    return {
      kind: 'rsa-private-key',
      detail: `${(second.length - (buf[q + second.header] === 0 ? 1 : 0)) * 8}-bit modulus`,
    };
  }
  return undefined;
}

const PEM_ARMOUR = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----/g;

function findIn(
  view: Buffer,
  needles: readonly KeyNeedle[],
): { kind: KeyMaterialKind; offset: number; detail: string }[] {
  const out: { kind: KeyMaterialKind; offset: number; detail: string }[] = [];
  const text = view.toString('latin1');
  for (const m of text.matchAll(PEM_ARMOUR)) out.push({ kind: 'pem-private-key', offset: m.index, detail: m[1]! });
  for (let i = view.indexOf(0x30); i >= 0; i = view.indexOf(0x30, i + 1)) {
    const s = structureAt(view, i);
    if (s) out.push({ ...s, offset: i });
  }
  for (const n of needles) {
    const at = view.indexOf(n.bytes);
    if (at >= 0) out.push({ kind: 'key-bytes', offset: at, detail: n.label });
  }
  return out;
}

// ---- text decodings ------------------------------------------------------------------------

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const B64_RUN = /[A-Za-z0-9+/]{24,}={0,2}/g;
const B64URL_RUN = /[A-Za-z0-9_-]{24,}/g;
const HEX_RUN = /[0-9a-fA-F]{32,}/g;

/** Byte views decoded from text found in `view` (PEM bodies, base64 at every alignment, hex). */
function textDecodings(view: Buffer): { via: string; data: Buffer }[] {
  const text = view.toString('latin1');
  const out: { via: string; data: Buffer }[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const body = m[2]!.replace(/\\[nrt]/g, '').replace(/[^A-Za-z0-9+/=]/g, '');
    out.push({ via: 'pem', data: Buffer.from(body, 'base64') });
  }
  const runs: { via: string; enc: 'base64' | 'base64url'; s: string }[] = [];
  for (const m of text.matchAll(B64_RUN)) runs.push({ via: 'base64', enc: 'base64', s: m[0] });
  for (const m of text.matchAll(B64URL_RUN))
    if (/[_-]/.test(m[0])) runs.push({ via: 'base64url', enc: 'base64url', s: m[0] });
  for (const r of runs)
    for (let a = 0; a < 4; a++) out.push({ via: r.via, data: Buffer.from(r.s.slice(a).replace(/=+$/, ''), r.enc) });
  for (const m of text.matchAll(HEX_RUN))
    for (let a = 0; a < 2; a++)
      out.push({ via: 'hex', data: Buffer.from(m[0].slice(a, a + ((m[0].length - a) & ~1)), 'hex') });
  // Merge the small views into one buffer per kind (separated) to keep the structure scan linear.
  const merged = new Map<string, Buffer[]>();
  for (const v of out) {
    if (v.data.length < 16) continue;
    const list = merged.get(v.via) ?? [];
    list.push(v.data, SEPARATOR);
    merged.set(v.via, list);
  }
  return [...merged].map(([via, parts]) => ({ via, data: Buffer.concat(parts) }));
}

/** Between merged decodings: no PEM, DER header or needle starts with 0xff bytes, so matches stay within one decoding. */
const SEPARATOR = Buffer.alloc(8, 0xff);

// ---- the scan ------------------------------------------------------------------------------

function* files(root: string): Generator<string> {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

/** Scans every regular file under `root` (symlinks are not followed). */
export function scanForKeyMaterial(root: string, opts: ScanOptions = {}): KeyMaterialReport {
  const needles = opts.needles ?? [];
  for (const n of needles) if (n.bytes.length < 16) throw new Error(`needle ${n.label} is too short to be meaningful`);
  const maxDecode = opts.maxDecodeBytes ?? 32 << 20;
  const report: KeyMaterialReport = { files: 0, bytes: 0, levelDbFiles: 0, decodeErrors: [], findings: [] };
  if (!lstatSync(root).isDirectory()) throw new Error(`${root} is not a directory`);
  for (const path of files(root)) {
    const bytes = readFileSync(path);
    const file = relative(root, path);
    report.files++;
    report.bytes += bytes.length;
    const primary: { via: string; data: Buffer }[] = [{ via: 'raw', data: bytes }];
    if (bytes.length <= maxDecode) {
      try {
        const ldb = levelDbContents(basename(path), bytes);
        if (ldb) {
          report.levelDbFiles++;
          primary.push({ via: ldb.kind, data: ldb.data });
        }
      } catch (e) {
        report.decodeErrors.push(`${file}: ${(e as Error).message}`);
      }
    }
    const views = [...primary];
    if (bytes.length <= maxDecode) {
      for (const v of primary) {
        for (const d1 of textDecodings(v.data)) {
          views.push({ via: `${v.via}>${d1.via}`, data: d1.data });
          for (const d2 of textDecodings(d1.data)) views.push({ via: `${v.via}>${d1.via}>${d2.via}`, data: d2.data });
        }
      }
    }
    const seen = new Set<string>();
    for (const v of views) {
      for (const f of findIn(v.data, needles)) {
        // One finding per (kind, detail) per file and view family is enough to act on.
        const key = `${f.kind}|${f.detail}|${v.via.split('>')[0]}`;
        if (seen.has(key)) continue;
        seen.add(key);
        report.findings.push({ file, via: v.via, ...f });
      }
    }
  }
  return report;
}

/** One line per finding, for assertion messages. */
export function describeFindings(findings: readonly KeyMaterialFinding[]): string {
  return findings.map((f) => `${f.file} [${f.via} @${f.offset}] ${f.kind}: ${f.detail}`).join('\n');
}
