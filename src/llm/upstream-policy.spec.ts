import { BrokenCircuitError } from 'cockatiel';
import { OllamaClientError, OllamaFailureKind } from './ollama/ollama-client.errors';
import { CircuitStatus, UpstreamPolicy, isRetryable, isUpstreamFailure } from './upstream-policy';

const signal = new AbortController().signal;

function failure(kind: OllamaFailureKind, httpStatus?: number): OllamaClientError {
  return new OllamaClientError(kind, `failed: ${kind}`, undefined, httpStatus);
}

function policy(overrides: Partial<ConstructorParameters<typeof UpstreamPolicy>[0]> = {}): UpstreamPolicy {
  return new UpstreamPolicy({
    failureThreshold: 2,
    resetTimeoutMs: 1_000,
    ...overrides,
  });
}

describe('isRetryable', () => {
  it.each([
    ['unreachable', undefined, true],
    ['busy', 503, true],
    ['upstream', 500, true],
    ['upstream', 400, false],
    ['upstream', undefined, false],
    ['timeout', undefined, false],
    ['protocol', undefined, false],
    ['model_not_found', 404, false],
    ['aborted', undefined, false],
  ] as const)('%s (HTTP %s) → %s', (kind, status, expected) => {
    expect(isRetryable(failure(kind, status))).toBe(expected);
  });

  it('does not retry errors that are not Ollama failures', () => {
    expect(isRetryable(new Error('bug'))).toBe(false);
  });
});

describe('isUpstreamFailure', () => {
  it.each([
    ['unreachable', undefined, true],
    ['busy', 503, true],
    ['timeout', undefined, true],
    ['protocol', undefined, true],
    ['upstream', 500, true],
    ['upstream', undefined, true],
    ['upstream', 400, false],
    ['model_not_found', 404, false],
    ['aborted', undefined, false],
  ] as const)('%s (HTTP %s) → %s', (kind, status, expected) => {
    expect(isUpstreamFailure(failure(kind, status))).toBe(expected);
  });
});

describe(UpstreamPolicy.name, () => {
  let subject: UpstreamPolicy;

  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    subject?.dispose();
    jest.useRealTimers();
  });

  const fails = (error: Error) => () => Promise.reject(error);

  it('opens after the threshold of consecutive failures and then refuses without calling', async () => {
    subject = policy();
    const changes: CircuitStatus[] = [];
    subject.onCircuitChange((status) => changes.push(status));

    await expect(subject.guard(fails(failure('unreachable')), signal)).rejects.toBeInstanceOf(OllamaClientError);
    expect(subject.circuit).toBe('closed');
    await expect(subject.guard(fails(failure('unreachable')), signal)).rejects.toBeInstanceOf(OllamaClientError);

    expect(subject.circuit).toBe('open');
    expect(subject.refusing()).toBe(true);
    expect(subject.openRemainingMs()).toBe(1_000);
    expect(changes).toEqual(['open']);
    const call = jest.fn();
    await expect(subject.guard(call, signal)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(call).not.toHaveBeenCalled();
  });

  it('does not count client errors, aborts or a missing model', async () => {
    subject = policy({ failureThreshold: 1 });
    for (const error of [
      failure('aborted'),
      failure('upstream', 400),
      failure('model_not_found', 404),
      new Error('bug'),
    ]) {
      await expect(subject.guard(fails(error), signal)).rejects.toBe(error);
    }
    expect(subject.circuit).toBe('closed');
  });

  it('a success resets the count of consecutive failures', async () => {
    subject = policy();
    await expect(subject.guard(fails(failure('timeout')), signal)).rejects.toBeDefined();
    await subject.guard(() => Promise.resolve('ok'), signal);
    await expect(subject.guard(fails(failure('timeout')), signal)).rejects.toBeDefined();
    expect(subject.circuit).toBe('closed');
  });

  it('turns half-open after the reset timeout by itself, and closes after a successful trial', async () => {
    subject = policy();
    const changes: CircuitStatus[] = [];
    subject.onCircuitChange((status) => changes.push(status));
    for (let i = 0; i < 2; i++) {
      await expect(subject.guard(fails(failure('busy', 503)), signal)).rejects.toBeDefined();
    }
    await jest.advanceTimersByTimeAsync(600);
    expect(subject.openRemainingMs()).toBe(400);
    await jest.advanceTimersByTimeAsync(400);

    expect(subject.circuit).toBe('half-open');
    expect(subject.refusing()).toBe(false);
    expect(changes).toEqual(['open', 'half-open']);

    let finishTrial!: (value: string) => void;
    const trial = subject.guard(() => new Promise<string>((resolve) => (finishTrial = resolve)), signal);
    expect(subject.refusing()).toBe(true);
    finishTrial('ok');
    await expect(trial).resolves.toBe('ok');
    expect(subject.circuit).toBe('closed');
    expect(subject.refusing()).toBe(false);
    expect(changes.at(-1)).toBe('closed');
  });

  it('opens again for a full reset timeout when the trial fails', async () => {
    subject = policy();
    for (let i = 0; i < 2; i++) {
      await expect(subject.guard(fails(failure('busy', 503)), signal)).rejects.toBeDefined();
    }
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(subject.guard(fails(failure('unreachable')), signal)).rejects.toBeInstanceOf(OllamaClientError);
    expect(subject.circuit).toBe('open');
    expect(subject.openRemainingMs()).toBe(1_000);
  });
});
