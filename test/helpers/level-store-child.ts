/**
 * Child process for the LevelDB crash and lock tests (run with `node --import tsx`).
 *
 *   revoke <dataDir> <serial>  commit a synced revocation, print "ACK <serial>", then keep
 *                              committing more (unacknowledged) revocations until killed
 *   open <dataDir>             try to open the store; print "OPENED" or "ERROR <code> <message>"
 */
import { isAgentCaError } from '../../src/errors.js';
import { openLevelStore } from '../../src/store/level/level-store.js';
import type { IssuerId, Serial } from '../../src/types.js';

const [mode, dataDir, serial] = process.argv.slice(2);
const issuerId = 'intermediate' as IssuerId;

async function main(): Promise<void> {
  if (!dataDir) throw new Error('usage: level-store-child.ts revoke|open <dataDir> [serial]');
  if (mode === 'open') {
    try {
      const store = await openLevelStore({ dataDir, create: false });
      process.stdout.write('OPENED\n');
      await store.close();
    } catch (e) {
      process.stdout.write(`ERROR ${isAgentCaError(e) ? e.code : 'unknown'} ${(e as Error).message}\n`);
    }
    return;
  }
  if (mode === 'revoke' && serial) {
    const store = await openLevelStore({ dataDir });
    const now = new Date();
    await store.commit(
      [
        {
          op: 'putRevocation',
          record: { serial: serial as Serial, issuerId, revokedAt: now, reason: 'keyCompromise', actor: 'crash-test' },
        },
      ],
      {
        sync: true,
      },
    );
    process.stdout.write(`ACK ${serial}\n`);
    // Keep the database busy so the SIGKILL lands in the middle of writes.
    for (let i = 0; ; i++) {
      const filler = `${serial.slice(0, 8)}${i.toString(16).padStart(16, '0')}` as Serial;
      await store.commit(
        [
          {
            op: 'putRevocation',
            record: { serial: filler, issuerId, revokedAt: now, reason: 'superseded', actor: 'filler' },
          },
        ],
        { sync: i % 2 === 0 },
      );
    }
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(2);
});
