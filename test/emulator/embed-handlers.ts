/** `POST /api/embed` and the legacy `POST /api/embeddings` (`server/routes.go` `EmbedHandler`, `EmbeddingsHandler`). */
import { capabilityErrorText, missingCapabilities } from './capabilities';
import type { EmulatorContext } from './context';
import { embeddingTokenCount, float32ForJson, normalise, rawEmbedding, truncateToTokens } from './embeddings';
import { DEFAULT_RUNNER_ERROR, intOption, optionsError } from './generation';
import { decodeGoStruct } from './go-json';
import { goQuote } from './go-quote';
import { monotonicNs } from './go-time';
import { sendJson, sendOllamaError, type Exchange, sendBindError } from './http-util';
import { parseApiKeepAlive } from './keep-alive';
import { modelKey, normaliseModelName } from './model-names';
import type { ResolvedModel } from './model-registry';

import { untilAborted } from './timers';
import type { Fault } from './types';

/** Checking that a resident runner is ready still costs a little (Ollama issue #12443). */
const READY_CHECK_NS = 1_000_000n;

type Kind = 'embed' | 'embeddings';

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
function modelFor(ctx: EmulatorContext, ex: Exchange, model: string, normalised: string): ResolvedModel | undefined {
  const local = ctx.catalog.find(normalised);
  if (local === undefined) {
    sendOllamaError(ex.res, 404, `model ${goQuote(model)} not found, try pulling it first`);
    return undefined;
  }
  const missing = missingCapabilities(local.info.capabilities, ['embedding']);
  if (missing.length > 0) {
    sendOllamaError(ex.res, 400, capabilityErrorText('embed', model, local.info.fullName, missing));
    return undefined;
  }
  return local.info;
}

/** Applies a fault aimed at an embedding request; returns true when it answered. */
async function applyFault(ex: Exchange, fault: Fault | undefined): Promise<boolean> {
  if (fault?.kind === 'hang-after-first-chunk') {
    await untilAborted(ex.signal);
  }
  if (fault?.kind === 'mid-stream-error') {
    sendOllamaError(ex.res, 500, fault.message ?? DEFAULT_RUNNER_ERROR);
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
  const model = str(body['model']);
  const normalised = model === '' ? undefined : normaliseModelName(model);
  if (normalised === undefined) {
    if (model !== '') {
      sendOllamaError(ex.res, 400, 'invalid model name');
    } else if (kind === 'embed') {
      sendOllamaError(ex.res, 404, `model '' not found`);
    } else {
      sendOllamaError(ex.res, 400, 'model is required');
    }
    return;
  }
  const inputs = kind === 'embed' ? inputsOf(body['input']) : [str(body['prompt'])].filter((p) => p !== '');
  if (inputs === undefined) {
    sendOllamaError(ex.res, 400, 'invalid input type');
    return;
  }
  const info = modelFor(ctx, ex, model, normalised);
  if (info === undefined) {
    return;
  }
  const badOption = optionsError(body['options']);
  if (badOption !== undefined) {
    sendOllamaError(ex.res, 500, badOption);
    return;
  }
  const numCtx = intOption(body['options'], 'num_ctx') ?? ctx.options.defaultNumCtx;
  const keepAliveNs = parseApiKeepAlive(body['keep_alive']);
  const lease = await ctx.scheduler.acquire(info, { keepAliveNs, numCtx, signal: ex.signal });
  const readyNs = monotonicNs();
  try {
    if (inputs.length === 0) {
      // An empty request only loads the model.
      sendJson(ex.res, 200, kind === 'embed' ? { model, embeddings: [] } : { embedding: [] });
      return;
    }
    if (await applyFault(ex, fault)) {
      return;
    }
    const key = modelKey(info.name);
    if (kind === 'embeddings') {
      await compute(ctx, ex);
      sendJson(ex.res, 200, { embedding: rawEmbedding(key, inputs[0] ?? '', info.embeddingLength) });
      return;
    }
    const limit = Math.min(numCtx > 0 ? numCtx : info.contextLength, info.contextLength);
    const dimensions = typeof body['dimensions'] === 'number' ? body['dimensions'] : 0;
    const embeddings: number[][] = [];
    let promptTokens = 0;
    for (const input of inputs) {
      let text = input;
      let tokens = embeddingTokenCount(text);
      if (tokens > limit) {
        if (body['truncate'] === false) {
          sendOllamaError(ex.res, 400, 'the input length exceeds the context length');
          return;
        }
        text = truncateToTokens(text, limit);
        tokens = limit;
      }
      await compute(ctx, ex);
      let vector = normalise(rawEmbedding(key, text, info.embeddingLength));
      if (dimensions > 0 && dimensions < vector.length) {
        vector = normalise(vector.slice(0, dimensions));
      }
      embeddings.push(vector.map(float32ForJson));
      promptTokens += tokens;
    }
    const now = monotonicNs();
    sendJson(ex.res, 200, {
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
