import * as undici from 'undici';
import { Pool } from './undici-pool';

describe('undici-pool', () => {
  it("is undici's own Pool, loaded without the rest of undici", () => {
    expect(Pool).toBe(undici.Pool);
    const pool = new Pool('http://127.0.0.1:9', { connections: 1 });
    expect(pool).toBeInstanceOf(undici.Dispatcher);
    return pool.close();
  });
});
