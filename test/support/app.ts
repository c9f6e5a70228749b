import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/bootstrap';
import { parseEnvironment } from '../../src/config/environment';

export interface RunningApp {
  app: NestFastifyApplication;
  /** Base URL such as `http://127.0.0.1:40123`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Boots the real application in this process on a free loopback port, with `env` laid over the
 * current environment while the application is built. Logs are silent unless `LOG_LEVEL` is given.
 */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const saved = { ...process.env };
  Object.assign(process.env, { LOG_LEVEL: 'silent', ...env });
  let app: NestFastifyApplication;
  try {
    app = await createApp(parseEnvironment(process.env));
    await app.listen(0, '127.0.0.1');
  } finally {
    process.env = saved;
  }
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  let closed = false;
  return {
    app,
    url,
    close: async () => {
      if (!closed) {
        closed = true;
        await app.close();
      }
    },
  };
}
