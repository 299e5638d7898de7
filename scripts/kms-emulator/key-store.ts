/**
 * The emulator's keys: one JSON file per key under <dataDir>/keys (mode 0600, private key as
 * PKCS#8 PEM inside, aliases and tags beside it), written atomically so a restart finds either
 * the old or the new record. Keys live in a region, as in KMS; a KeyId may be a key id, a key
 * ARN, an alias name (`alias/...`) or an alias ARN.
 */
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { loadKey, type KeySpec, type LoadedKey } from './key-crypto.js';
import { notFound } from './kms-error.js';

export const ACCOUNT_ID = '111122223333';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface AliasRecord {
  name: string;
  creationDate: string;
  lastUpdatedDate: string;
}

export interface KeyRecord {
  keyId: string;
  region: string;
  creationDate: string;
  description: string;
  keySpec: KeySpec;
  keyUsage: 'SIGN_VERIFY';
  keyState: KeyState;
  deletionDate?: string;
  pendingWindowInDays?: number;
  tags: { TagKey: string; TagValue: string }[];
  aliases: AliasRecord[];
  privateKeyPem: string;
}

export const keyArn = (r: { region: string; keyId: string }): string =>
  `arn:aws:kms:${r.region}:${ACCOUNT_ID}:key/${r.keyId}`;
export const aliasArn = (region: string, alias: string): string => `arn:aws:kms:${region}:${ACCOUNT_ID}:${alias}`;

const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):((?:key|alias)\/.+)$/;

export class KeyStore {
  private readonly dir: string;
  private readonly records = new Map<string, KeyRecord>();
  private readonly loaded = new Map<string, LoadedKey>();

  constructor(
    dataDir: string,
    private readonly now: () => Date,
  ) {
    this.dir = join(dataDir, 'keys');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const rec = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as KeyRecord;
      this.records.set(rec.keyId, rec);
    }
  }

  create(
    region: string,
    spec: KeySpec,
    privateKeyPem: string,
    description: string,
    tags: KeyRecord['tags'],
  ): KeyRecord {
    const rec: KeyRecord = {
      keyId: randomUUID(),
      region,
      creationDate: this.now().toISOString(),
      description,
      keySpec: spec,
      keyUsage: 'SIGN_VERIFY',
      keyState: 'Enabled',
      tags,
      aliases: [],
      privateKeyPem,
    };
    this.save(rec);
    return rec;
  }

  save(rec: KeyRecord): void {
    const path = join(this.dir, `${rec.keyId}.json`);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(rec, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
    this.records.set(rec.keyId, rec);
  }

  /** Keys whose pending window has passed are gone, as in KMS (NotFoundException from then on). */
  private expire(rec: KeyRecord): boolean {
    if (rec.keyState !== 'PendingDeletion' || !rec.deletionDate) return false;
    if (this.now().getTime() < Date.parse(rec.deletionDate)) return false;
    const path = join(this.dir, `${rec.keyId}.json`);
    if (existsSync(path)) rmSync(path);
    this.records.delete(rec.keyId);
    this.loaded.delete(rec.keyId);
    return true;
  }

  all(region: string): KeyRecord[] {
    return [...this.records.values()]
      .filter((r) => r.region === region && !this.expire(r))
      .sort((a, b) => a.creationDate.localeCompare(b.creationDate) || a.keyId.localeCompare(b.keyId));
  }

  findAlias(region: string, alias: string): KeyRecord | undefined {
    return this.all(region).find((r) => r.aliases.some((a) => a.name === alias));
  }

  /** KeyId as KMS accepts it: key id, key ARN, alias name or alias ARN. */
  resolve(keyIdInput: unknown, region: string, opts: { allowAlias?: boolean } = {}): KeyRecord {
    const allowAlias = opts.allowAlias ?? true;
    if (typeof keyIdInput !== 'string' || keyIdInput === '') throw notFound(String(keyIdInput));
    let id = keyIdInput;
    const m = ARN.exec(keyIdInput);
    if (m) {
      if (m[1] !== region || m[2] !== ACCOUNT_ID) throw notFound(keyIdInput);
      id = m[3]!.startsWith('key/') ? m[3]!.slice(4) : m[3]!;
    }
    let rec: KeyRecord | undefined;
    if (id.startsWith('alias/')) rec = allowAlias ? this.findAlias(region, id) : undefined;
    else {
      rec = this.records.get(id);
      if (rec && (rec.region !== region || this.expire(rec))) rec = undefined;
    }
    if (!rec) throw notFound(keyIdInput);
    return rec;
  }

  material(rec: KeyRecord): LoadedKey {
    let k = this.loaded.get(rec.keyId);
    if (!k) {
      k = loadKey(rec.keySpec, rec.privateKeyPem);
      this.loaded.set(rec.keyId, k);
    }
    return k;
  }

  get size(): number {
    return this.records.size;
  }
}
