/**
 * `npm run kms-emulator -- --port P --host H --data DIR`: runs the KMS-API emulator until
 * SIGINT/SIGTERM and prints its URL (set AWS_ENDPOINT_URL_KMS to it, with
 * AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1). It stands in for
 * AWS KMS in tests and local development only.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startKmsEmulator } from './server.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4599' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: '.kms-emulator' },
      'access-key-id': { type: 'string' },
      'secret-access-key': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0..65535, got ${values.port}`);
  const emu = await startKmsEmulator({
    port,
    host: values.host,
    dataDir: resolve(values.data),
    ...(values['access-key-id'] ? { accessKeyId: values['access-key-id'] } : {}),
    ...(values['secret-access-key'] ? { secretAccessKey: values['secret-access-key'] } : {}),
  });
  process.stdout.write(`${emu.url}\n`);
  const stop = (): void => {
    emu.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`kms-emulator: ${(e as Error).message}\n`);
  process.exit(1);
});
