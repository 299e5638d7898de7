/**
 * Key custody: a key created in a backend that then cannot be opened (or its creation not
 * recorded) is not left behind: its deletion is scheduled and audited, and the error goes on.
 */
import { describe, expect, it } from 'vitest';
import type { AuditLog } from '../../../src/audit/audit-log.js';
import { createAgentKey } from '../../../src/authority/agent-key.js';
import { AgentCaError } from '../../../src/errors.js';
import { registerSignerScheme } from '../../../src/signer/registry.js';
import type { KeyUri } from '../../../src/types.js';

function harness(scheme: string, opts: { failDeletion?: boolean } = {}) {
  const deleted: string[] = [];
  const audit: { action: string; details: Record<string, unknown> }[] = [];
  registerSignerScheme(scheme, {
    open: async (uri) => {
      throw new AgentCaError('SIGNER_KEY_NOT_FOUND', `${uri}: not yet visible`);
    },
    keyManager: () => ({
      scheme,
      createKey: async () => `${scheme}:key-1` as KeyUri,
      scheduleKeyDeletion: async (uri) => {
        if (opts.failDeletion) throw new Error('backend down');
        deleted.push(uri);
        return new Date('2026-02-01T00:00:00Z');
      },
    }),
  });
  const deps = {
    signerContext: {},
    deletionWindowDays: 7,
    audit: {
      append: async (e: { action: string; details: Record<string, unknown> }) => void audit.push(e),
    } as unknown as AuditLog,
  };
  return { deps, deleted, audit };
}

describe('createAgentKey', () => {
  it('schedules the deletion of a key it created but could not open, audits it, and rethrows', async () => {
    const h = harness('test-unopenable');
    await expect(createAgentKey(h.deps, 'test-unopenable', 'p256', 'l', 'admin', 'bot-1')).rejects.toMatchObject({
      code: 'ACA_ERR_SIGNER_KEY_NOT_FOUND',
    });
    expect(h.deleted).toEqual(['test-unopenable:key-1']);
    expect(h.audit.map((e) => e.action)).toEqual(['key.orphan-deletion-scheduled']);
    expect(h.audit[0]!.details).toMatchObject({ keyUri: 'test-unopenable:key-1', agentId: 'bot-1' });
  });

  it('audits a deletion that failed too, and still rethrows the first error', async () => {
    const h = harness('test-undeletable', { failDeletion: true });
    await expect(createAgentKey(h.deps, 'test-undeletable', 'p256', 'l', 'admin', 'bot-2')).rejects.toMatchObject({
      code: 'ACA_ERR_SIGNER_KEY_NOT_FOUND',
    });
    expect(h.deleted).toEqual([]);
    expect(h.audit.map((e) => e.action)).toEqual(['key.orphan-deletion-failed']);
    expect(h.audit[0]!.details).toMatchObject({ error: 'backend down' });
  });
});
