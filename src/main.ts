import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { errorText } from './common/errors/error-text';
import { loadNestCommon } from './common/load-nest-common';
import { resolve } from 'node:path';
import {
  AppSettings,
  Configuration,
  ConfigValidationError,
  OllamaSettings,
  parseEnvironment,
} from './config/environment';

/** Slack on top of the configured phases for closing the listener and flushing logs. */
const SHUTDOWN_SLACK_MS = 10_000;

/**
 * A graceful shutdown must never hang: after the drain, the grace period and Ollama's stop timeout
 * (plus slack), the process exits with code 1 whatever is still pending. The supervisor's exit hook
 * still kills the Ollama process group it owns on the way out.
 */
function armShutdownDeadline(app: AppSettings, ollama: OllamaSettings): void {
  const deadlineMs =
    Math.max(app.shutdownDrainDelayMs, app.shutdownGracePeriodMs) + ollama.stopTimeoutMs + SHUTDOWN_SLACK_MS;
  const arm = (signal: NodeJS.Signals): void => {
    setTimeout(() => {
      process.stderr.write(`shutdown after ${signal} did not finish within ${deadlineMs} ms; exiting\n`);
      process.exit(1);
    }, deadlineMs).unref();
  };
  process.once('SIGTERM', arm);
  process.once('SIGINT', arm);
}

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
  // A signal that arrives while modules load (before Nest listens for it) must still end in a clean
  // shutdown with exit code 0, not in the default action of dying by the signal.
  let earlySignal: NodeJS.Signals | undefined;
  const rememberSignal = (signal: NodeJS.Signals): void => {
    earlySignal ??= signal;
  };
  process.on('SIGTERM', rememberSignal);
  process.on('SIGINT', rememberSignal);
  let config: Configuration;
  try {
    loadEnvFile();
    config = parseEnvironment(process.env);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Imported only after validation, so a bad environment stops the process before any module loads.
  loadNestCommon();
  const { createApp } = await import('./bootstrap');
  const app = await createApp(config);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  armShutdownDeadline(config.app, config.ollama);
  process.off('SIGTERM', rememberSignal);
  process.off('SIGINT', rememberSignal);
  if (earlySignal) {
    process.emit(earlySignal, earlySignal);
    return;
  }
  await app.listen(config.app.port, config.app.host);
  const { Logger } = await import('@nestjs/common');
  new Logger('Bootstrap').log(`local-llm-gateway listening on ${await app.getUrl()}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`local-llm-gateway failed to start: ${errorText(error)}\n`);
  process.exit(1);
});
