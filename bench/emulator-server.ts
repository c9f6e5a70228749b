/**
 * Runs the Ollama-protocol emulator in a process of its own, so that it never shares an event loop
 * with the load generator. Options come as one JSON argument; the URL is printed as one JSON line
 * (`{"url": "..."}`) once it listens. Reconfigure it at run time through `POST /__emulator/configure`.
 * SIGTERM or SIGINT stops it.
 *
 *   node --require ./test/support/register-ts.js bench/emulator-server.ts '{"tokenDelayMs": 10}'
 */
import { OllamaEmulator, type EmulatorOptions } from '../test/emulator/ollama-emulator';

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as Partial<EmulatorOptions>;
  const emulator = new OllamaEmulator(options);
  await emulator.start(0, '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);
  const stop = (): void => {
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
