/**
 * `POST /api/embed`, the legacy `POST /api/embeddings` (`server/routes.go` `EmbedHandler`,
 * `EmbeddingsHandler`) and the OpenAI-compatible `POST /v1/embeddings` in front of the first.
 */
import { capabilityErrorText, missingCapabilities } from './capabilities';
import type { EmulatorContext } from './context';
import { embeddingTokenCount, float32ForJson, normalise, rawEmbedding, truncateToTokens } from './embeddings';
import { DEFAULT_RUNNER_ERROR, intOption, optionsError } from './generation';
import { EmptyBodyError, decodeFirstJsonValue, decodeGoStruct } from './go-json';
import { goQuote } from './go-quote';
import { monotonicNs } from './go-time';
import {
  JSON_BARE,
  isRecord,
  sendBindError,
  sendJson,
  sendOllamaError,
  sendOpenAiError,
  type Exchange,
} from './http-util';
import { GoError, parseApiKeepAlive } from './keep-alive';
import { modelKey, normaliseModelName } from './model-names';
import type { ResolvedModel } from './model-registry';

import { untilAborted } from './timers';
import type { Fault } from './types';

/** Checking that a resident runner is ready still costs a little (Ollama issue #12443). */
const READY_CHECK_NS = 1_000_000n;

type Kind = 'embed' | 'embeddings';

/** How a handler answers: the native API and the OpenAI-compatible one shape results and errors apart. */
interface Answer {
  fail(status: number, message: string): void;
  succeed(value: Record<string, unknown>): void;
}

function nativeAnswer(ex: Exchange): Answer {
  return {
    fail: (status, message) => sendOllamaError(ex.res, status, message),
    succeed: (value) => sendJson(ex.res, 200, value),
  };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** `input` as `EmbedHandler` reads it: a non-empty string, or an array of strings; else undefined. */
function inputsOf(input: unknown): string[] | undefined {
  if (input === undefined || input === null) {
    return [];
  }
  if (typeof input === 'string') {
    return input === '' ? [] : [input];
  }
  if (Array.isArray(input) && input.every((item): item is string => typeof item === 'string')) {
    return input;
  }
  return undefined;
}

/**
 * The checks both handlers share after the name was parsed: the model exists, it can embed, its
 * options are well typed. Sends the error and returns undefined when one fails.
 */
function modelFor(ctx: EmulatorContext, answer: Answer, model: string, normalised: string): ResolvedModel | undefined {
  const local = ctx.catalog.find(normalised);
  if (local === undefined) {
    answer.fail(404, `model ${goQuote(model)} not found, try pulling it first`);
    return undefined;
  }
  const missing = missingCapabilities(local.info.capabilities, ['embedding']);
  if (missing.length > 0) {
    answer.fail(400, capabilityErrorText('embed', model, local.info.fullName, missing));
    return undefined;
  }
  return local.info;
}

/** Applies a fault aimed at an embedding request; returns true when it answered. */
async function applyFault(ex: Exchange, answer: Answer, fault: Fault | undefined): Promise<boolean> {
  if (fault?.kind === 'hang-after-first-chunk') {
    await untilAborted(ex.signal);
  }
  if (fault?.kind === 'mid-stream-error') {
    answer.fail(500, fault.message ?? DEFAULT_RUNNER_ERROR);
    return true;
  }
  return false;
}

/** The time one input takes to embed: `tokenDelayMs`, so a client can go away in the middle. */
async function compute(ctx: EmulatorContext, ex: Exchange): Promise<void> {
  if (ctx.options.tokenDelayMs > 0) {
    await ctx.timers.sleep(ctx.options.tokenDelayMs, ex.signal);
  } else {
    ex.signal.throwIfAborted();
  }
}

async function handle(ctx: EmulatorContext, ex: Exchange, kind: Kind, fault: Fault | undefined): Promise<void> {
  let body: Record<string, unknown>;
  try {
    body = decodeGoStruct(ex.body, kind === 'embed' ? ctx.types.embed : ctx.types.embeddings);
  } catch (err) {
    sendBindError(ex, err);
    return;
  }
  await run(ctx, ex, kind, body, nativeAnswer(ex), fault);
}

/** From the decoded request to the answer: the checks of `EmbedHandler`, in its order, then the vectors. */
async function run(
  ctx: EmulatorContext,
  ex: Exchange,
  kind: Kind,
  body: Record<string, unknown>,
  answer: Answer,
  fault: Fault | undefined,
): Promise<void> {
  const model = str(body['model']);
  const normalised = model === '' ? undefined : normaliseModelName(model);
  if (normalised === undefined) {
    if (model !== '') {
      answer.fail(400, 'invalid model name');
    } else if (kind === 'embed') {
      answer.fail(404, `model '' not found`);
    } else {
      answer.fail(400, 'model is required');
    }
    return;
  }
  const inputs = kind === 'embed' ? inputsOf(body['input']) : [str(body['prompt'])].filter((p) => p !== '');
  if (inputs === undefined) {
    answer.fail(400, 'invalid input type');
    return;
  }
  const info = modelFor(ctx, answer, model, normalised);
  if (info === undefined) {
    return;
  }
  const badOption = optionsError(body['options']);
  if (badOption !== undefined) {
    answer.fail(500, badOption);
    return;
  }
  const numCtx = intOption(body['options'], 'num_ctx') ?? ctx.options.defaultNumCtx;
  const keepAliveNs = parseApiKeepAlive(body['keep_alive']);
  const lease = await ctx.scheduler.acquire(info, { keepAliveNs, numCtx, signal: ex.signal });
  const readyNs = monotonicNs();
  try {
    if (inputs.length === 0) {
      // An empty request only loads the model.
      answer.succeed(kind === 'embed' ? { model, embeddings: [] } : { embedding: [] });
      return;
    }
    if (await applyFault(ex, answer, fault)) {
      return;
    }
    const key = modelKey(info.name);
    if (kind === 'embeddings') {
      await compute(ctx, ex);
      answer.succeed({ embedding: rawEmbedding(key, inputs[0] ?? '', info.embeddingLength) });
      return;
    }
    const limit = Math.min(numCtx > 0 ? numCtx : info.contextLength, info.contextLength);
    const dimensions = typeof body['dimensions'] === 'number' ? body['dimensions'] : 0;
    const embeddings: number[][] = [];
    // The vector of a text is the same each time: a request repeating an input formats it once.
    const vectors = new Map<string, number[]>();
    const vectorFor = (text: string): number[] => {
      let vector = normalise(rawEmbedding(key, text, info.embeddingLength));
      if (dimensions > 0 && dimensions < vector.length) {
        vector = normalise(vector.slice(0, dimensions));
      }
      const formatted = vector.map(float32ForJson);
      vectors.set(text, formatted);
      return formatted;
    };
    let promptTokens = 0;
    for (const input of inputs) {
      let text = input;
      let tokens = embeddingTokenCount(text);
      if (tokens > limit) {
        if (body['truncate'] === false) {
          answer.fail(400, 'the input length exceeds the context length');
          return;
        }
        text = truncateToTokens(text, limit);
        tokens = limit;
      }
      await compute(ctx, ex);
      embeddings.push(vectors.get(text) ?? vectorFor(text));
      promptTokens += tokens;
    }
    const now = monotonicNs();
    answer.succeed({
      model,
      embeddings,
      total_duration: Number(now - ex.startedNs + READY_CHECK_NS),
      load_duration: Number(readyNs - ex.startedNs + READY_CHECK_NS),
      prompt_eval_count: promptTokens,
    });
  } finally {
    ctx.scheduler.release(lease);
  }
}

/** `POST /api/embed`: `input` string or strings → L2-normalised float32 vectors, `dimensions` cut and renormalised. */
export function handleEmbed(ctx: EmulatorContext, ex: Exchange, fault: Fault | undefined): Promise<void> {
  return handle(ctx, ex, 'embed', fault);
}

/** `POST /api/embeddings` (legacy): `prompt` → the raw, not normalised, vector as `embedding`. */
export function handleEmbeddings(ctx: EmulatorContext, ex: Exchange, fault: Fault | undefined): Promise<void> {
  return handle(ctx, ex, 'embeddings', fault);
}

/** `floatsToBase64`: the vector as little-endian float32 bytes. */
function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) {
    return 'array';
  }
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

/**
 * `POST /v1/embeddings` (`EmbeddingsMiddleware`): `input` and `dimensions` go to the embed handler,
 * whose answer becomes an OpenAI embedding list (`encoding_format` `float` or `base64`).
 */
export async function handleOpenAiEmbeddings(
  ctx: EmulatorContext,
  ex: Exchange,
  fault: Fault | undefined,
): Promise<void> {
  const fail = (status: number, message: string): void => sendOpenAiError(ex.res, status, message);
  let raw: unknown;
  try {
    raw = decodeFirstJsonValue(ex.body);
  } catch (err) {
    if (err instanceof EmptyBodyError || err instanceof GoError) {
      fail(400, err.message);
      return;
    }
    throw err;
  }
  if (raw !== null && !isRecord(raw)) {
    fail(400, `json: cannot unmarshal ${jsonKind(raw)} into Go value of type openai.EmbedRequest`);
    return;
  }
  const body = raw ?? {};
  const format = str(body['encoding_format']);
  if (format !== '' && !['float', 'base64'].includes(format.toLowerCase())) {
    fail(400, `Invalid value for 'encoding_format' = ${format}. Supported values: ['float', 'base64'].`);
    return;
  }
  const input = body['input'] === '' ? [''] : body['input'];
  if (input === undefined || input === null || (Array.isArray(input) && input.length === 0)) {
    fail(400, 'invalid input');
    return;
  }
  const model = str(body['model']);
  const dimensions = typeof body['dimensions'] === 'number' ? Math.trunc(body['dimensions']) : 0;
  const answer: Answer = {
    fail,
    succeed: (value) => {
      const embeddings = Array.isArray(value['embeddings']) ? (value['embeddings'] as number[][]) : [];
      const tokens = typeof value['prompt_eval_count'] === 'number' ? value['prompt_eval_count'] : 0;
      const data = embeddings.map((embedding, index) => ({
        object: 'embedding',
        embedding: format.toLowerCase() === 'base64' ? float32Base64(embedding) : embedding,
        index,
      }));
      const list = { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
      sendJson(ex.res, 200, list, JSON_BARE);
    },
  };
  await run(ctx, ex, 'embed', { model, input, ...(dimensions > 0 ? { dimensions } : {}) }, answer, fault);
}
