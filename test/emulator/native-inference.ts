/** `POST /api/generate` and `POST /api/chat`. */
import type { EmulatorContext } from './context';
import {
  compose,
  intOption,
  metricsFor,
  optionsError,
  parseFormat,
  produceTokens,
  type Completion,
  type Metrics,
} from './generation';
import { EmptyBodyError, decodeGoStruct } from './go-json';
import { goQuote } from './go-quote';
import { formatUtcRfc3339Nano, monotonicNs, nowNs } from './go-time';
import { JSON_BARE, JSON_UTF8, NdjsonWriter, isRecord, sendJson, sendOllamaError, type Exchange } from './http-util';
import { GoError, parseApiKeepAlive } from './keep-alive';
import { normaliseModelName } from './model-names';
import { countPromptTokens } from './reply';
import type { Fault, ReplyRequest } from './types';

type Kind = 'chat' | 'generate';

interface ChatMessage {
  role: string;
  content: string;
}

/** Sends Ollama's 400 for a body gin could not bind. Returns false when the body was fine. */
export function sendBindError(ex: Exchange, err: unknown): void {
  if (err instanceof EmptyBodyError) {
    sendOllamaError(ex.res, 400, 'missing request body');
    return;
  }
  if (err instanceof GoError) {
    sendOllamaError(ex.res, 400, err.message);
    return;
  }
  throw err;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function messagesOf(body: Record<string, unknown>): ChatMessage[] {
  const raw = Array.isArray(body['messages']) ? body['messages'] : [];
  return raw.filter(isRecord).map((m) => ({ role: str(m['role']).toLowerCase(), content: str(m['content']) }));
}

function emptyReply(kind: Kind, model: string, doneReason: 'load' | 'unload'): Record<string, unknown> {
  const base = { model, created_at: formatUtcRfc3339Nano(nowNs()) };
  return kind === 'chat'
    ? { ...base, message: { role: 'assistant', content: '' }, done: true, done_reason: doneReason }
    : { ...base, response: '', done: true, done_reason: doneReason };
}

function chunk(kind: Kind, model: string, text: string): Record<string, unknown> {
  const base = { model, created_at: formatUtcRfc3339Nano(nowNs()) };
  return kind === 'chat'
    ? { ...base, message: { role: 'assistant', content: text }, done: false }
    : { ...base, response: text, done: false };
}

/** Token ids for generate's deprecated `context` field. */
function contextIds(count: number): number[] {
  return Array.from({ length: Math.min(count, 2048) }, (_, i) => 1000 + ((i * 7919) % 120_000));
}

function finalReply(
  kind: Kind,
  model: string,
  text: string,
  completion: Completion,
  metrics: Metrics,
  withContext: boolean,
): Record<string, unknown> {
  const base = { model, created_at: formatUtcRfc3339Nano(nowNs()) };
  if (kind === 'chat') {
    return {
      ...base,
      message: { role: 'assistant', content: text },
      done: true,
      done_reason: completion.doneReason,
      ...metrics,
    };
  }
  const context = withContext ? { context: contextIds(metrics.prompt_eval_count + metrics.eval_count) } : {};
  return { ...base, response: text, done: true, done_reason: completion.doneReason, ...context, ...metrics };
}

/** Handles a native chat or generate request from body decoding to the last chunk. */
export async function handleNativeInference(
  ctx: EmulatorContext,
  ex: Exchange,
  kind: Kind,
  fault: Fault | undefined,
): Promise<void> {
  let body: Record<string, unknown>;
  try {
    body = decodeGoStruct(ex.body, kind === 'chat' ? ctx.types.chat : ctx.types.generate);
  } catch (err) {
    sendBindError(ex, err);
    return;
  }
  const res = ex.res;
  const model = str(body['model']);
  const topLogprobs = typeof body['top_logprobs'] === 'number' ? body['top_logprobs'] : 0;
  if (topLogprobs < 0 || topLogprobs > 20) {
    sendOllamaError(res, 400, 'top_logprobs must be between 0 and 20');
    return;
  }
  const normalised = model === '' ? undefined : normaliseModelName(model);
  if (normalised === undefined) {
    if (model !== '') {
      sendOllamaError(res, 400, 'invalid model name');
    } else if (kind === 'chat') {
      sendOllamaError(res, 400, 'model is required');
    } else {
      sendOllamaError(res, 404, `model '' not found`);
    }
    return;
  }
  const local = ctx.catalog.find(normalised);
  if (local === undefined) {
    sendOllamaError(res, 404, `model '${model}' not found`);
    return;
  }
  const keepAliveNs = parseApiKeepAlive(body['keep_alive']);
  const messages = messagesOf(body);
  const prompt = str(body['prompt']);
  const isEmpty = kind === 'chat' ? messages.length === 0 : prompt === '';
  if (isEmpty && keepAliveNs === 0n) {
    ctx.scheduler.expire(local.info);
    sendJson(res, 200, emptyReply(kind, model, 'unload'));
    return;
  }
  if (
    kind === 'generate' &&
    body['raw'] === true &&
    (str(body['template']) !== '' ||
      str(body['system']) !== '' ||
      (Array.isArray(body['context']) && body['context'].length > 0))
  ) {
    sendOllamaError(res, 400, 'raw mode does not support template, system, or context');
    return;
  }
  const think = body['think'];
  if ((think === true || typeof think === 'string') && !local.info.capabilities.includes('thinking')) {
    sendOllamaError(res, 400, `${goQuote(model)} does not support thinking`);
    return;
  }
  const badOption = optionsError(body['options']);
  if (badOption !== undefined) {
    sendOllamaError(res, 500, badOption);
    return;
  }

  const numCtx = intOption(body['options'], 'num_ctx') ?? ctx.options.defaultNumCtx;
  const lease = await ctx.scheduler.acquire(local.info, { keepAliveNs, numCtx, signal: ex.signal });
  const readyNs = monotonicNs();
  try {
    if (isEmpty) {
      sendJson(res, 200, emptyReply(kind, model, 'load'));
      return;
    }
    const stream = body['stream'] !== false;
    const { format, error: formatError } = parseFormat(body['format']);
    if (formatError !== undefined) {
      sendOllamaError(res, 500, formatError, stream ? JSON_BARE : JSON_UTF8);
      return;
    }
    const lastUser = kind === 'chat' ? ([...messages].reverse().find((m) => m.role === 'user')?.content ?? '') : prompt;
    const replyRequest: ReplyRequest = { endpoint: kind, model, prompt: lastUser, messages, body };
    const completion = compose(ctx, replyRequest, format, intOption(body['options'], 'num_predict'), fault);
    const promptParts =
      kind === 'chat' ? messages.map((m) => m.content) : [str(body['system']), prompt].filter((p) => p !== '');
    const promptTokens = countPromptTokens(promptParts, 4);
    const timeline = { readyNs, generationStartNs: monotonicNs() };
    const withContext = body['raw'] !== true;

    if (stream) {
      const writer = new NdjsonWriter(res);
      const result = await produceTokens(ctx, ex, completion.tokens, fault, (token) =>
        writer.send(chunk(kind, model, token)),
      );
      if (result.error !== undefined) {
        // A failure after the stream began: status stays 200 and the stream ends without done.
        writer.send({ error: result.error });
        writer.end();
        return;
      }
      writer.send(
        finalReply(
          kind,
          model,
          '',
          completion,
          metricsFor(ex, timeline, promptTokens, completion.tokens.length),
          withContext,
        ),
      );
      writer.end();
      return;
    }

    let text = '';
    const result = await produceTokens(ctx, ex, completion.tokens, fault, (token) => {
      text += token;
    });
    if (result.error !== undefined) {
      sendOllamaError(res, 500, result.error);
      return;
    }
    sendJson(
      res,
      200,
      finalReply(
        kind,
        model,
        text,
        completion,
        metricsFor(ex, timeline, promptTokens, completion.tokens.length),
        withContext,
      ),
    );
  } finally {
    ctx.scheduler.release(lease);
  }
}
