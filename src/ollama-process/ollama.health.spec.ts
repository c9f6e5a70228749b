import { HealthIndicatorService } from '@nestjs/terminus';
import { OllamaHealthIndicator } from './ollama.health';
import type { OllamaStatus } from './ollama-status';
import type { OllamaSupervisor } from './ollama-supervisor';

function indicatorFor(status: OllamaStatus): OllamaHealthIndicator {
  const supervisor = { status: () => status } as unknown as OllamaSupervisor;
  return new OllamaHealthIndicator(new HealthIndicatorService(), supervisor);
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
      },
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
