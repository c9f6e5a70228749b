/**
 * The fake model: what it answers, how long it takes, and the metrics Ollama reports for it.
 * Shared by the native and the OpenAI-compatible endpoints.
 */
import type { EmulatorContext } from './context';
import { goQuote } from './go-quote';
import { monotonicNs } from './go-time';
import { isRecord, type Exchange } from './http-util';
import { INVALID_STRUCTURED_TEXT, defaultReplyText, tokenize } from './reply';
import { sampleFromSchema } from './schema-sample';
import { untilAborted } from './timers';
import { toolResultReply } from './tool-calls';
import type { Fault, ReplyRequest } from './types';

export type Format = 'json' | Record<string, unknown>;

export type DoneReason = 'stop' | 'length';

export interface Completion {
  tokens: string[];
  doneReason: DoneReason;
}

/**
 * `format` as the runner reads it: null and "" mean unset, "json" and objects are accepted,
 * anything else is the error Ollama returns (as a 500, after the model was scheduled).
 */
export function parseFormat(value: unknown): { format?: Format; error?: string } {
  if (value === undefined || value === null || value === '') {
    return {};
  }
  if (value === 'json') {
    return { format: 'json' };
  }
  if (isRecord(value)) {
    return { format: value };
  }
  return { error: `invalid format: ${goQuote(JSON.stringify(value))}; expected "json" or a valid JSON Schema object` };
}

/** Decides the answer text and cuts it into tokens, honouring `num_predict`. */
export function compose(
  ctx: EmulatorContext,
  request: ReplyRequest,
  format: Format | undefined,
  numPredict: number | undefined,
  fault: Fault | undefined,
): Completion {
  let text: string;
  if (fault?.kind === 'invalid-structured-output') {
    text = INVALID_STRUCTURED_TEXT;
  } else if (format !== undefined) {
    const value =
      ctx.options.structuredReply !== undefined
        ? ctx.options.structuredReply
        : format === 'json'
          ? {}
          : sampleFromSchema(format);
    text = JSON.stringify(value);
  } else if (typeof ctx.options.replyText === 'function') {
    text = ctx.options.replyText(request);
  } else if (request.toolResults.length > 0) {
    text = toolResultReply(request.toolResults);
  } else {
    text = ctx.options.replyText ?? defaultReplyText(request.prompt, request.images);
  }
  const tokens = tokenize(text);
  if (numPredict !== undefined && numPredict > 0 && tokens.length > numPredict) {
    return { tokens: tokens.slice(0, numPredict), doneReason: 'length' };
  }
  return { tokens, doneReason: 'stop' };
}

export const DEFAULT_RUNNER_ERROR = 'an error was encountered while running the model';

/**
 * Emits the tokens one by one with the configured delay, applying streaming faults. Resolves with
 * an error message when a mid-stream error was injected; rejects when the client goes away.
 */
export async function produceTokens(
  ctx: EmulatorContext,
  ex: Exchange,
  tokens: readonly string[],
  fault: Fault | undefined,
  onToken: (token: string) => void,
): Promise<{ error?: string }> {
  const failAfter = fault?.kind === 'mid-stream-error' ? Math.max(0, fault.afterChunks ?? 1) : undefined;
  const failure = fault?.kind === 'mid-stream-error' ? (fault.message ?? DEFAULT_RUNNER_ERROR) : undefined;
  for (let index = 0; index < tokens.length; index++) {
    if (failAfter !== undefined && index >= failAfter) {
      return { error: failure };
    }
    const delay = ctx.options.tokenDelayMs;
    if (delay > 0) {
      await ctx.timers.sleep(delay, ex.signal);
    } else {
      ex.signal.throwIfAborted();
    }
    onToken(tokens[index] ?? '');
    if (fault?.kind === 'hang-after-first-chunk') {
      await untilAborted(ex.signal);
    }
  }
  if (fault?.kind === 'hang-after-first-chunk') {
    await untilAborted(ex.signal);
  }
  return failAfter === undefined ? {} : { error: failure };
}

export interface Metrics {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

/** Checking that a resident runner is ready still costs a little (Ollama issue #12443). */
const READY_CHECK_NS = 1_000_000n;
const PROMPT_EVAL_NS_PER_TOKEN = 100_000n;
/** Keeps tokens/s finite when tokens are emitted with no delay. */
const MIN_EVAL_NS_PER_TOKEN = 1_000n;

export interface Timeline {
  /** When a runner was ready for this request (monotonic ns). */
  readyNs: bigint;
  generationStartNs: bigint;
}

/** Integer nanosecond metrics for the final chunk, consistent with one another. */
export function metricsFor(ex: Exchange, timeline: Timeline, promptTokens: number, evalCount: number): Metrics {
  const now = monotonicNs();
  const load = timeline.readyNs - ex.startedNs + READY_CHECK_NS;
  const promptEval = BigInt(promptTokens) * PROMPT_EVAL_NS_PER_TOKEN;
  const measuredEval = now - timeline.generationStartNs;
  const minimumEval = BigInt(Math.max(evalCount, 1)) * MIN_EVAL_NS_PER_TOKEN;
  const evalDuration = measuredEval > minimumEval ? measuredEval : minimumEval;
  const measuredTotal = now - ex.startedNs;
  const accounted = load + promptEval + evalDuration;
  const total = measuredTotal > accounted ? measuredTotal : accounted;
  return {
    total_duration: Number(total),
    load_duration: Number(load),
    prompt_eval_count: promptTokens,
    prompt_eval_duration: Number(promptEval),
    eval_count: evalCount,
    eval_duration: Number(evalDuration),
  };
}

/** `options.<key>` as Ollama's `Options.FromMap` would read an integer option. */
export function intOption(options: unknown, key: string): number | undefined {
  if (!isRecord(options)) {
    return undefined;
  }
  const value = options[key];
  return typeof value === 'number' ? Math.trunc(value) : undefined;
}

const INT_OPTIONS = new Set([
  'num_keep',
  'seed',
  'num_predict',
  'top_k',
  'repeat_last_n',
  'num_ctx',
  'num_batch',
  'num_gpu',
  'main_gpu',
  'num_thread',
  'draft_num_predict',
]);
const FLOAT_OPTIONS = new Set([
  'temperature',
  'top_p',
  'min_p',
  'typical_p',
  'repeat_penalty',
  'presence_penalty',
  'frequency_penalty',
]);
const BOOL_OPTIONS = new Set(['use_mmap', 'numa', 'penalize_newline']);

/** Type errors `Options.FromMap` reports (as a 500); unknown keys are only logged by Ollama. */
export function optionsError(options: unknown): string | undefined {
  if (!isRecord(options)) {
    return undefined;
  }
  for (const [key, value] of Object.entries(options)) {
    if (value === null) {
      continue;
    }
    if (INT_OPTIONS.has(key) && typeof value !== 'number') {
      return `option "${key}" must be of type integer`;
    }
    if (FLOAT_OPTIONS.has(key) && typeof value !== 'number') {
      return `option "${key}" must be of type float32`;
    }
    if (BOOL_OPTIONS.has(key) && typeof value !== 'boolean') {
      return `option "${key}" must be of type boolean`;
    }
    if (key === 'stop') {
      if (!Array.isArray(value)) {
        return `option "${key}" must be of type array`;
      }
      if (value.some((item) => typeof item !== 'string')) {
        return `option "${key}" must be of an array of strings`;
      }
    }
  }
  return undefined;
}
