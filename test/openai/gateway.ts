import { setTimeout as delay } from 'node:timers/promises';

export type { Gateway } from '../support/gateway';
export { MODEL, startGateway } from '../support/gateway';

/** Polls `check` until it returns true; fails naming `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(25);
  }
}
