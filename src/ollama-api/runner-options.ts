import { optionTypeProblem } from './request-checks';

/**
 * Runner options: when one differs from what the loaded model runs with, Ollama unloads the model and
 * loads it again (seconds to minutes, for every caller). The gateway decides how models are loaded, so
 * requests on its Ollama API may not set them; `num_ctx` may only repeat the loaded context length.
 */
export const RELOADING_OPTIONS = ['num_ctx', 'num_batch', 'num_gpu', 'main_gpu', 'use_mmap', 'num_thread'] as const;

/** Ollama reads a `null` option as not set. */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** `options` of a request, when they are an object; any other value is `optionsProblem`'s to refuse. */
export function optionsOf(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const { options } = body;
  return typeof options === 'object' && options !== null && !Array.isArray(options)
    ? (options as Record<string, unknown>)
    : undefined;
}

/**
 * What is wrong with a request's `options` before the loaded context length is known, or `undefined`:
 * not an object, a runner option other than `num_ctx`, or a `num_ctx` that is not a positive integer.
 */
export function optionsProblem(body: Record<string, unknown>): string | undefined {
  if (!isSet(body.options)) {
    return undefined;
  }
  const options = optionsOf(body);
  if (options === undefined) {
    return 'options must be an object of model parameters, e.g. {"temperature": 0.2}';
  }
  const reloading = RELOADING_OPTIONS.find((name) => name !== 'num_ctx' && isSet(options[name]));
  if (reloading !== undefined) {
    return (
      `options.${reloading} is not accepted here: it would make Ollama reload the model, and the gateway ` +
      `decides how models are loaded; send the request without ${reloading}`
    );
  }
  const numCtx = options.num_ctx;
  if (isSet(numCtx) && !(Number.isInteger(numCtx) && (numCtx as number) > 0)) {
    return 'options.num_ctx must be a positive integer';
  }
  return optionTypeProblem(options);
}

/** The `num_ctx` a request asks for (already checked by `optionsProblem`), or `undefined` when none. */
export function requestedContextLength(body: Record<string, unknown>): number | undefined {
  const numCtx = optionsOf(body)?.num_ctx;
  return typeof numCtx === 'number' ? numCtx : undefined;
}

/**
 * Why a request's `num_ctx` cannot be sent to `model`, or `undefined` when it equals the context length
 * the model is loaded with (`loaded`; `undefined` when it is not loaded, so nothing can be compared).
 */
export function contextLengthProblem(numCtx: number, model: string, loaded: number | undefined): string | undefined {
  if (loaded === undefined) {
    return (
      `options.num_ctx cannot be checked now: ${model} is not loaded, so its context length is not known; ` +
      'send the request without num_ctx'
    );
  }
  if (numCtx !== loaded) {
    return (
      `options.num_ctx ${numCtx} differs from the context length ${model} is loaded with (${loaded}), and would ` +
      `make Ollama reload the model; send num_ctx ${loaded} or none`
    );
  }
  return undefined;
}
