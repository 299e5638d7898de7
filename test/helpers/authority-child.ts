/**
 * Child process for the authority crash and lock tests (run with `node --import tsx`).
 *
 *   revoke <dataDir> <serial> <busySerial>
 *       open the authority (LevelDB unless AGENT_CA_STORE is set), start holding / releasing <busySerial> in a loop (each
 *       a synced commit with its audit intent and outcome), revoke <serial> (keyCompromise)
 *       while that runs, print "ACK <serial>", and keep the loop going until killed
 *   hold-open <dataDir>
 *       open the authority, print "READY", and keep it open until killed
 * With AGENT_CA_STORE set (postgres://…) the authority opens that store instead of LevelDB.
 */
import { createAuthority } from '../../src/authority/create-authority.js';

const [mode, dataDir, serial, busySerial] = process.argv.slice(2);

async function main(): Promise<void> {
  if (!dataDir)
    throw new Error('usage: authority-child.ts revoke <dataDir> <serial> <busySerial> | hold-open <dataDir>');
  const store = process.env.AGENT_CA_STORE;
  const authority = await createAuthority({ dataDir, env: store ? { AGENT_CA_STORE: store } : {}, create: false });
  if (mode === 'hold-open') {
    process.stdout.write('READY\n');
    setInterval(() => undefined, 60_000);
    return;
  }
  if (mode === 'revoke' && serial && busySerial) {
    // Keep the database busy (before and after the ACK) so the revocation is group-committed
    // alongside other lifecycle writes and the SIGKILL lands in the middle of live commits.
    if ((await authority.show(busySerial)).status.state === 'held')
      await authority.release(busySerial, { actor: 'busy' });
    let started!: () => void;
    const firstWrite = new Promise<void>((resolve) => (started = resolve));
    void (async () => {
      for (;;) {
        await authority.hold(busySerial, { actor: 'busy' });
        started();
        await authority.release(busySerial, { actor: 'busy' });
      }
    })().catch((e: unknown) => fail(e));
    await firstWrite;
    const r = await authority.revoke(serial, { reason: 'keyCompromise', actor: 'crash-test' });
    process.stdout.write(`ACK ${r.serial}\n`);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

function fail(e: unknown): never {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(2);
}

main().catch(fail);
