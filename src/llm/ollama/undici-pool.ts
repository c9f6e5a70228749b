import type { Pool as UndiciPool } from 'undici';

/**
 * undici's connection pool, loaded from its own module: undici's index also loads its fetch,
 * WebSocket, EventSource, caches and mock agents, about 6 MiB of an idle process's memory that this
 * service never uses. It is the very class undici exports, with its types (`undici-pool.spec.ts`
 * checks both against the installed undici).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const Pool = require('undici/lib/dispatcher/pool') as typeof UndiciPool;
export type Pool = UndiciPool;
