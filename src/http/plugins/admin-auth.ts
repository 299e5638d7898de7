/**
 * Admin bearer tokens. `agent-ca token create` prints a token once and stores only its
 * SHA-256; AGENT_CA_ADMIN_TOKEN is accepted too. Comparison is constant-time on the hashes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AgentCaError } from '../../errors.js';
import type { Store } from '../../store/ports.js';

export const ADMIN_TOKENS_KEY = 'admin-tokens';

export interface StoredToken {
  name: string;
  sha256: string;
  createdAt: string;
}

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export async function createAdminToken(store: Store, name: string, now: Date): Promise<string> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new AgentCaError('INPUT_INVALID', 'token name must be 1..64 characters of A-Z a-z 0-9 . _ -');
  const token = `aca_${randomBytes(32).toString('base64url')}`;
  const tokens = (await store.meta.get<StoredToken[]>(ADMIN_TOKENS_KEY)) ?? [];
  tokens.push({ name, sha256: hashToken(token).toString('hex'), createdAt: now.toISOString() });
  await store.meta.put(ADMIN_TOKENS_KEY, tokens);
  return token;
}

export class AdminTokens {
  private hashes: { name: string; hash: Buffer }[] = [];
  constructor(private readonly store: Store, private readonly envToken?: string) {}

  async reload(): Promise<void> {
    const stored = (await this.store.meta.get<StoredToken[]>(ADMIN_TOKENS_KEY)) ?? [];
    this.hashes = stored.map((t) => ({ name: t.name, hash: Buffer.from(t.sha256, 'hex') }));
    if (this.envToken) this.hashes.push({ name: 'env:AGENT_CA_ADMIN_TOKEN', hash: hashToken(this.envToken) });
  }

  /** The token's name, or undefined. */
  check(header: string | undefined): string | undefined {
    const m = header?.match(/^Bearer\s+(\S+)$/i);
    if (!m) return undefined;
    const h = hashToken(m[1]!);
    let found: string | undefined;
    for (const t of this.hashes) if (timingSafeEqual(t.hash, h)) found = t.name;
    return found;
  }

  /** fastify preHandler: 401 problem+json without a valid token; sets request.adminName. */
  guard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const name = this.check(request.headers.authorization);
    if (!name) {
      reply.header('www-authenticate', 'Bearer realm="agent-ca"');
      throw new AgentCaError('HTTP_UNAUTHORIZED', 'a valid admin bearer token is required (agent-ca token create, or AGENT_CA_ADMIN_TOKEN)');
    }
    (request as FastifyRequest & { adminName?: string }).adminName = name;
  };
}
