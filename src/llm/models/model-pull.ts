import { Logger } from '@nestjs/common';
import { LinkedAbort } from '../../common/linked-abort';
import type { PullProgress } from '../llm.types';
import type { OllamaClient } from '../ollama/ollama-client';
import { isOllamaFailure } from '../ollama/ollama-client.errors';

/** Pull progress is logged at most this often. */
const PULL_LOG_INTERVAL_MS = 5_000;

/** What Ollama says when the registry has no such model (reference §2.6). */
const NO_SUCH_MODEL = /file does not exist|manifest unknown|not found/i;

/**
 * A failure of the lifecycle whose message is already the operator's instruction. `permanent` ones
 * (a model the registry does not have) will not go away by retrying soon.
 */
export class LifecycleProblem extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'LifecycleProblem';
  }
}

/**
 * Pulls `model`, reporting progress over all layers through `onProgress` and in the log. A pull that
 * makes no progress for `stallMs` is aborted with a `LifecycleProblem` (the caller retries it; Ollama
 * resumes partial downloads). An error Ollama reports in the stream becomes a `LifecycleProblem` that
 * says what Ollama said, in words an operator can act on.
 */
export async function pullModel(
  client: OllamaClient,
  model: string,
  stallMs: number,
  signal: AbortSignal,
  onProgress: (progress: PullProgress) => void,
  logger: Logger,
): Promise<void> {
  logger.log(`model ${model} is not in Ollama at ${client.baseUrl}; pulling it`);
  const attempt = new AbortController();
  const link = new LinkedAbort([signal, attempt.signal]);
  let stalled = false;
  let watchdog: NodeJS.Timeout | undefined;
  const progressed = (): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      stalled = true;
      attempt.abort();
    }, stallMs);
  };
  const layers = new Map<string, { total: number; completed: number }>();
  let lastCompleted = -1;
  let lastStatus = '';
  let loggedAt = 0;
  progressed();
  try {
    const lines = await client.pull(model, link.signal);
    for await (const line of lines) {
      if (line.digest !== undefined && line.total !== undefined && line.total > 0) {
        layers.set(line.digest, { total: line.total, completed: line.completed ?? 0 });
      }
      let total = 0;
      let completed = 0;
      for (const layer of layers.values()) {
        total += layer.total;
        completed += Math.min(layer.completed, layer.total);
      }
      if (completed > lastCompleted || line.status !== lastStatus) {
        progressed();
      }
      lastCompleted = completed;
      lastStatus = line.status;
      const progress = { percent: total > 0 ? Math.floor((completed / total) * 100) : 0, status: line.status };
      onProgress(progress);
      if (Date.now() - loggedAt >= PULL_LOG_INTERVAL_MS) {
        loggedAt = Date.now();
        logger.log(`pulling ${model}: ${progress.percent}% (${line.status})`);
      }
    }
  } catch (error) {
    if (stalled) {
      throw new LifecycleProblem(`pulling ${model} made no progress for ${stallMs} ms (OLLAMA_LOAD_TIMEOUT)`);
    }
    if (isOllamaFailure(error, 'upstream') && error.detail !== undefined) {
      throw pullRefusal(model, error.detail);
    }
    throw error;
  } finally {
    clearTimeout(watchdog);
    link.dispose();
  }
  onProgress({ percent: 100, status: 'success' });
  logger.log(`pulled ${model}`);
}

/** Ollama's reason for a failed pull, as the operator's next step. */
function pullRefusal(model: string, said: string): LifecycleProblem {
  const quoted = JSON.stringify(said.slice(0, 300));
  if (NO_SUCH_MODEL.test(said)) {
    return new LifecycleProblem(
      `model ${model} does not exist in the registry (Ollama said ${quoted}); check OLLAMA_MODEL and OLLAMA_MODELS`,
      true,
    );
  }
  return new LifecycleProblem(`pulling ${model} failed: Ollama said ${quoted}`);
}
