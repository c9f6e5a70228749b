import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, eventually, startService } from './support/service-process';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

function run(env: Record<string, string>): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, [MAIN], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('configuration at startup', () => {
  let dir: string;

  beforeAll(() => {
    ensureBuilt();
  }, 180_000);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops with a non-zero exit code and one message naming every bad variable', () => {
    const result = run({ OLLAMA_TIMEOUT: 'abc', PORT: '-1' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration (2 variables)');
    expect(result.stderr).toContain('OLLAMA_TIMEOUT="abc": must be a duration');
    expect(result.stderr).toContain('PORT="-1": must be a whole number from 0 to 65535');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('reads the env file named by ENV_FILE, and validates what it holds', () => {
    const envFile = join(dir, 'gateway.env');
    writeFileSync(envFile, '# a comment\nLLM_MAX_QUEUE=lots\nLOG_FORMAT=xml\n');
    const result = run({ ENV_FILE: envFile });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('LLM_MAX_QUEUE="lots"');
    expect(result.stderr).toContain('LOG_FORMAT="xml": must be one of json, pretty');
  });

  it('says so when ENV_FILE names a file that does not exist', () => {
    const result = run({ ENV_FILE: join(dir, 'missing.env') });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('missing.env');
    expect(result.stderr).toContain('file not found');
  });

  it('lets real environment variables win over the env file', async () => {
    const envFile = join(dir, 'gateway.env');
    writeFileSync(envFile, 'OLLAMA_MODEL=from-file:latest\nOLLAMA_AUTO_START=false\nOLLAMA_URL=http://127.0.0.1:9\n');
    const service = await startService({ ENV_FILE: envFile, OLLAMA_MODEL: 'from-env:latest' });
    try {
      const body = await eventually(async () => {
        const answer = (await (await fetch(`${service.url}/health/llm`)).json()) as {
          details: { llm: { model: string } };
        };
        return answer.details?.llm;
      }, 'the model in /health/llm');
      expect(body.model).toBe('from-env:latest');
    } finally {
      expect(await service.stop()).toEqual({ code: 0, signal: null });
    }
  });
});
