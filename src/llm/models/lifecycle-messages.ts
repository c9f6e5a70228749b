import type { LlmState } from '../llm.types';
import { isOllamaFailure } from '../ollama/ollama-client.errors';

/** What a model lifecycle was doing, so that a failure can be told in those terms. */
export type LifecycleStep = 'checking' | 'pulling' | 'loading';

export interface FailureContext {
  step: LifecycleStep;
  model: string;
  baseUrl: string;
  loadTimeoutMs: number;
}

/** A failed step of a model lifecycle, in words an operator can act on (`/health/llm`, the log). */
export function failureMessage(error: unknown, { step, model, baseUrl, loadTimeoutMs }: FailureContext): string {
  const doing = step === 'checking' ? `checking ${model} in Ollama` : `${step} ${model}`;
  if (!isOllamaFailure(error)) {
    return `${doing} failed unexpectedly`;
  }
  switch (error.kind) {
    case 'timeout':
      return step === 'loading'
        ? `loading ${model} took longer than ${loadTimeoutMs} ms (OLLAMA_LOAD_TIMEOUT)`
        : `${doing} timed out`;
    case 'unreachable':
      return `Ollama is not answering at ${baseUrl}`;
    case 'model_not_found':
      return `model ${model} is not in Ollama`;
    case 'busy':
      return `Ollama was too busy for ${doing}`;
    case 'upstream':
    case 'protocol':
    case 'aborted':
      return `${doing} failed: ${error.message}`;
  }
}

export interface StateContext {
  model: string;
  baseUrl: string;
  ollamaUp: boolean;
  /** Pull progress, while pulling. */
  percent: number;
  /** Why it is degraded. */
  reason?: string;
}

/** What a model's state means, in words an operator can act on. */
export function describeState(state: LlmState, { model, baseUrl, ollamaUp, percent, reason }: StateContext): string {
  switch (state) {
    case 'starting':
      return ollamaUp ? `model ${model} is starting` : `model ${model} is starting: waiting for Ollama at ${baseUrl}`;
    case 'pulling':
      return `pulling ${model}: ${percent}%`;
    case 'loading':
      return `model ${model} is loading`;
    case 'ready':
      return `model ${model} is ready`;
    case 'degraded':
      return reason ?? `model ${model} is unavailable`;
  }
}
