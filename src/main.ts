import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigValidationError, parseEnvironment } from './config/environment';

/** Reads `ENV_FILE` (default `.env` in the working directory) when present; real env vars win. */
function loadEnvFile(): void {
  const path = resolve(process.env.ENV_FILE ?? '.env');
  if (existsSync(path)) {
    process.loadEnvFile(path);
  } else if (process.env.ENV_FILE) {
    throw new ConfigValidationError([`ENV_FILE=${JSON.stringify(process.env.ENV_FILE)}: file not found`]);
  }
}

async function main(): Promise<void> {
  try {
    loadEnvFile();
    parseEnvironment(process.env);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Imported only after validation, so a bad environment stops the process before any module loads.
  const { createApp } = await import('./bootstrap');
  const { appConfig } = await import('./config/configuration');
  const app = await createApp();
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  const { port, host } = app.get<{ port: number; host: string }>(appConfig.KEY);
  await app.listen(port, host);
  const { Logger } = await import('@nestjs/common');
  new Logger('Bootstrap').log(`local-llm-gateway listening on ${await app.getUrl()}`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `local-llm-gateway failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
