import { HealthIndicatorService } from '@nestjs/terminus';
import { OllamaHealthIndicator } from './ollama.health';
import type { OllamaStatus } from './ollama-status';

function indicatorFor(...statuses: OllamaStatus[]): OllamaHealthIndicator {
  return new OllamaHealthIndicator(new HealthIndicatorService(), { statuses: () => statuses });
}

const URL_ = 'http://127.0.0.1:11434';

describe(OllamaHealthIndicator.name, () => {
  it('is up with the server, its version, who owns it, its pid and restarts', () => {
    const indicator = indicatorFor({
      state: 'running',
      reachable: true,
      version: '0.33.0',
      ownership: 'owned',
      pid: 4242,
      restarts: 2,
      url: URL_,
    });

    expect(indicator.check()).toEqual({
      ollama: {
        status: 'up',
        url: URL_,
        reachable: true,
        state: 'running',
        version: '0.33.0',
        ownership: 'owned',
        pid: 4242,
        restarts: 2,
        backends: [
          {
            url: URL_,
            reachable: true,
            state: 'running',
            version: '0.33.0',
            ownership: 'owned',
            pid: 4242,
            restarts: 2,
          },
        ],
      },
    });
  });

  it('lists every server, and stays up while one of them answers', () => {
    const other = 'http://ollama-1.ollama:11434';
    const result = indicatorFor(
      { state: 'running', reachable: true, version: '0.33.0', ownership: 'external', restarts: 0, url: URL_ },
      { state: 'running', reachable: false, restarts: 0, url: other },
    ).check();

    expect(result.ollama.status).toBe('up');
    expect(result.ollama.backends).toEqual([
      expect.objectContaining({ url: URL_, reachable: true, ownership: 'external', version: '0.33.0' }),
      expect.objectContaining({ url: other, reachable: false, message: `waiting for Ollama at ${other} to answer` }),
    ]);
  });

  it('is down when no server answers, saying why for each', () => {
    const other = 'http://ollama-1.ollama:11434';
    const result = indicatorFor(
      {
        state: 'failed',
        reachable: false,
        restarts: 0,
        url: URL_,
        lastError: 'port 11434 is held by a process that is not Ollama',
      },
      { state: 'starting', reachable: false, restarts: 0, url: other },
    ).check();

    expect(result.ollama).toMatchObject({
      status: 'down',
      message: `port 11434 is held by a process that is not Ollama; waiting for Ollama at ${other} to answer`,
    });
  });

  it('is down with the last error as its message', () => {
    const message = "ollama binary 'ollama' not found on PATH; install Ollama or set OLLAMA_BIN";
    const indicator = indicatorFor({ state: 'failed', reachable: false, restarts: 0, lastError: message, url: URL_ });

    expect(indicator.check('ollama')).toEqual({
      ollama: expect.objectContaining({ status: 'down', reachable: false, state: 'failed', message }),
    });
  });

  it('says it is waiting while the first attempt is still under way', () => {
    const indicator = indicatorFor({ state: 'starting', reachable: false, restarts: 0, url: URL_ });

    expect(indicator.check('server').server).toMatchObject({
      status: 'down',
      message: `waiting for Ollama at ${URL_} to answer`,
    });
  });
});
