import { BrokenCircuitError } from 'cockatiel';
import type { Backend } from './backends/backend';
import { CallMover, Failover } from './failover';
import type { InferenceCall } from './inference-call';
import { OllamaClientError, OllamaFailureKind } from './ollama/ollama-client.errors';
import { UpstreamPolicy } from './upstream-policy';

function failure(kind: OllamaFailureKind, httpStatus?: number): OllamaClientError {
  return new OllamaClientError(kind, `failed: ${kind}`, undefined, httpStatus);
}

/** The part of a backend the failover uses: its breaker, and being marked unreachable. */
function backend(url: string, failureThreshold = 2): Backend {
  return {
    url,
    policy: new UpstreamPolicy({ failureThreshold, resetTimeoutMs: 60_000 }),
    markUnreachable: jest.fn(),
  } as unknown as Backend;
}

/** A call and a pool of backends it may move between; `free` are those that can take it. */
function setup(backends: Backend[], free: Backend[] = []): { call: InferenceCall; mover: CallMover } {
  const call = { backend: backends[0], model: 'llama3.1:latest', signal: new AbortController().signal };
  const mover: CallMover = {
    canMove: (_call, tried) => free.some((candidate) => !tried.has(candidate)),
    move: (_call, tried) => {
      const next = free.find((candidate) => !tried.has(candidate));
      if (next === undefined) {
        return Promise.resolve(false);
      }
      call.backend = next;
      return Promise.resolve(true);
    },
  };
  return { call: call as unknown as InferenceCall, mover };
}

const BACKOFF = { initialMs: 100, maxMs: 2_000, random: () => 1 };

describe(Failover.name, () => {
  let backends: Backend[];

  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    for (const one of backends) {
      one.policy.dispose();
    }
    jest.useRealTimers();
  });

  it('retries a retryable failure on the same backend at most maxRetries times, with growing delays', async () => {
    backends = [backend('http://a')];
    const { call, mover } = setup(backends);
    const attempt = jest.fn().mockRejectedValue(failure('upstream', 500));
    const result = new Failover(mover, { maxRetries: 2, backoff: BACKOFF }).run(call, attempt);
    const settled = expect(result).rejects.toMatchObject({ kind: 'upstream' });

    await jest.advanceTimersByTimeAsync(0);
    expect(attempt).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(99);
    expect(attempt).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(attempt).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(199);
    expect(attempt).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1);
    await settled;
    expect(attempt).toHaveBeenCalledTimes(3);
  });

  it('does not retry a failure that is not retryable', async () => {
    backends = [backend('http://a')];
    const { call, mover } = setup(backends);
    const attempt = jest.fn().mockRejectedValue(failure('timeout'));
    await expect(new Failover(mover, { maxRetries: 2, backoff: BACKOFF }).run(call, attempt)).rejects.toMatchObject({
      kind: 'timeout',
    });
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('returns the first success', async () => {
    backends = [backend('http://a')];
    const { call, mover } = setup(backends);
    const attempt = jest.fn().mockRejectedValueOnce(failure('busy', 503)).mockResolvedValue('ok');
    const result = new Failover(mover, { maxRetries: 2, backoff: BACKOFF }).run(call, attempt);
    await jest.advanceTimersByTimeAsync(100);
    await expect(result).resolves.toBe('ok');
  });

  it('counts all the attempts on one backend as one call of its breaker', async () => {
    backends = [backend('http://a', 2)];
    const { call, mover } = setup(backends);
    const failover = new Failover(mover, { maxRetries: 2, backoff: BACKOFF });
    const attempt = jest.fn().mockRejectedValue(failure('unreachable'));

    const first = expect(failover.run(call, attempt)).rejects.toMatchObject({ kind: 'unreachable' });
    await jest.advanceTimersByTimeAsync(1_000);
    await first;
    expect(attempt).toHaveBeenCalledTimes(3);
    expect(backends[0].policy.circuit).toBe('closed');
    expect(backends[0].markUnreachable).toHaveBeenCalled();

    const second = expect(failover.run(call, attempt)).rejects.toMatchObject({ kind: 'unreachable' });
    await jest.advanceTimersByTimeAsync(1_000);
    await second;
    expect(backends[0].policy.circuit).toBe('open');
    await expect(failover.run(call, attempt)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(attempt).toHaveBeenCalledTimes(6);
  });

  it('moves a failed call to another backend at once, where it succeeds, and counts the failure where it happened', async () => {
    backends = [backend('http://a', 1), backend('http://b', 1)];
    const { call, mover } = setup(backends, [backends[1]]);
    const attempt = jest.fn((target: Backend) =>
      target === backends[0] ? Promise.reject(failure('unreachable')) : Promise.resolve(`from ${target.url}`),
    );

    await expect(new Failover(mover, { maxRetries: 1, backoff: BACKOFF }).run(call, attempt)).resolves.toBe(
      'from http://b',
    );
    expect(attempt.mock.calls.map(([target]) => target.url)).toEqual(['http://a', 'http://b']);
    expect(backends[0].policy.circuit).toBe('open');
    expect(backends[1].policy.circuit).toBe('closed');
    expect(call.backend).toBe(backends[1]);
  });

  it('spends the moves from the same budget of retries', async () => {
    backends = [backend('http://a'), backend('http://b'), backend('http://c')];
    const { call, mover } = setup(backends, [backends[1], backends[2]]);
    const attempt = jest.fn().mockRejectedValue(failure('upstream', 502));

    await expect(new Failover(mover, { maxRetries: 1, backoff: BACKOFF }).run(call, attempt)).rejects.toMatchObject({
      httpStatus: 502,
    });
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('hands a stream over at once, and lets the breaker judge it when it ends', async () => {
    backends = [backend('http://a', 1)];
    const { call, mover } = setup(backends);
    let endStream!: (error?: Error) => void;
    const ended = new Promise<void>((resolve, reject) => (endStream = (error) => (error ? reject(error) : resolve())));

    const stream = await new Failover(mover, { maxRetries: 0, backoff: BACKOFF }).run(
      call,
      () => Promise.resolve('stream'),
      () => ended,
    );
    expect(stream).toBe('stream');
    expect(backends[0].policy.circuit).toBe('closed');

    endStream(failure('unreachable'));
    await jest.advanceTimersByTimeAsync(0);
    expect(backends[0].policy.circuit).toBe('open');
  });
});
