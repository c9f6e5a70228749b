import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt } from '../support/service-process';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/** Runs the real service with `env` on top of the current environment, until it exits (at most 30 s). */
function run(env: Record<string, string>): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, [MAIN], {
    env: { ...process.env, OLLAMA_AUTO_START: 'false', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('API keys refused at start-up', () => {
  beforeAll(() => {
    ensureBuilt();
  }, 180_000);

  it('exits 1 on a placeholder or short key, listing it with the other bad variables, without the keys', () => {
    const keys = ['a-usable-key-0123456789', 'replace-me-with-a-long-random-key', 'tiny-key'];
    const result = run({ API_KEYS: keys.join(','), LLM_MAX_QUEUE: 'lots' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration (2 variables)');
    expect(result.stderr).toContain(
      'API_KEYS=(keys not shown): key 2 contains "replace-me", so it is a placeholder; ' +
        'key 3 is shorter than 16 characters: use random keys of 16 or more characters',
    );
    expect(result.stderr).toContain('LLM_MAX_QUEUE="lots"');
    for (const key of keys) {
      expect(result.stderr + result.stdout).not.toContain(key);
    }
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses "changeme" whatever its case', () => {
    const result = run({ API_KEYS: 'ChangeMe-0123456789abcdef' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('API_KEYS=(keys not shown): key 1 contains "changeme", so it is a placeholder');
    expect(result.stderr).not.toContain('ChangeMe-0123456789abcdef');
  });
});
