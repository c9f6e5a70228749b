/** `POST /api/generate` and `POST /api/chat`: the checks of `server/routes.go`, in its order, then the answer. */
import { capabilityErrorText, missingCapabilities, type Capability } from './capabilities';
import type { EmulatorContext } from './context';
import { compose, intOption, optionsError, parseFormat } from './generation';
import { decodeGoStruct } from './go-json';
import { goQuote } from './go-quote';
import { monotonicNs } from './go-time';
import { JSON_BARE, JSON_UTF8, isRecord, sendBindError, sendJson, sendOllamaError, type Exchange } from './http-util';
import { parseApiKeepAlive } from './keep-alive';
import { normaliseModelName } from './model-names';
import type { ResolvedModel } from './model-registry';
import { emptyReply, replyWithText, replyWithToolCalls, type Kind, type ReplyContext } from './native-replies';
import { countPromptTokens } from './reply';
import { planToolCalls, toOllamaToolCalls, toolResultsOf, toolsOf } from './tool-calls';
import type { Fault, ReplyRequest } from './types';

const MLLAMA_ONE_IMAGE = 'this model only supports one image while more than one image requested';

interface ChatMessage {
  role: string;
  content: string;
  images: number;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function rawMessages(body: Record<string, unknown>): unknown[] {
  return Array.isArray(body['messages']) ? body['messages'] : [];
}

function messagesOf(body: Record<string, unknown>): ChatMessage[] {
  return rawMessages(body)
    .filter(isRecord)
    .map((m) => ({
      role: str(m['role']).toLowerCase(),
      content: str(m['content']),
      images: Array.isArray(m['images']) ? m['images'].length : 0,
    }));
}

/** Sends the error and returns false when the request fails one of the checks made before loading. */
function passesModelChecks(
  ex: Exchange,
  kind: Kind,
  body: Record<string, unknown>,
  model: string,
  info: ResolvedModel,
  images: number,
): boolean {
  const think = body['think'];
  if ((think === true || typeof think === 'string') && !info.capabilities.includes('thinking')) {
    sendOllamaError(ex.res, 400, `${goQuote(model)} does not support thinking`);
    return false;
  }
  const wanted: Capability[] = ['completion'];
  if (kind === 'chat' && Array.isArray(body['tools']) && body['tools'].length > 0) {
    wanted.push('tools');
  }
  if (kind === 'generate' && str(body['suffix']) !== '') {
    wanted.push('insert');
  }
  // Images ask for vision the way tools ask for tools, with the same error form.
  if (images > 0) {
    wanted.push('vision');
  }
  const missing = missingCapabilities(info.capabilities, wanted);
  if (missing.length > 0) {
    sendOllamaError(ex.res, 400, capabilityErrorText(kind, model, info.fullName, missing));
    return false;
  }
  const badOption = optionsError(body['options']);
  if (badOption !== undefined) {
    sendOllamaError(ex.res, 500, badOption);
    return false;
  }
  return true;
}

/** Sends the error and returns undefined when the model is missing or named wrongly. */
function findModel(ctx: EmulatorContext, ex: Exchange, kind: Kind, model: string): ResolvedModel | undefined {
  const normalised = model === '' ? undefined : normaliseModelName(model);
  if (normalised === undefined) {
    if (model !== '') {
      sendOllamaError(ex.res, 400, 'invalid model name');
    } else if (kind === 'chat') {
      sendOllamaError(ex.res, 400, 'model is required');
    } else {
      sendOllamaError(ex.res, 404, `model '' not found`);
    }
    return undefined;
  }
  const local = ctx.catalog.find(normalised);
  if (local === undefined) {
    sendOllamaError(ex.res, 404, `model '${model}' not found`);
    return undefined;
  }
  return local.info;
}

function rawModeConflict(kind: Kind, body: Record<string, unknown>): boolean {
  const context = body['context'];
  return (
    kind === 'generate' &&
    body['raw'] === true &&
    (str(body['template']) !== '' || str(body['system']) !== '' || (Array.isArray(context) && context.length > 0))
  );
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
  const info = findModel(ctx, ex, kind, model);
  if (info === undefined) {
    return;
  }
  const keepAliveNs = parseApiKeepAlive(body['keep_alive']);
  const messages = messagesOf(body);
  const prompt = str(body['prompt']);
  const isEmpty = kind === 'chat' ? messages.length === 0 : prompt === '';
  if (isEmpty && keepAliveNs === 0n) {
    ctx.scheduler.expire(info);
    sendJson(res, 200, emptyReply(kind, model, 'unload'));
    return;
  }
  if (rawModeConflict(kind, body)) {
    sendOllamaError(res, 400, 'raw mode does not support template, system, or context');
    return;
  }
  const images =
    kind === 'chat'
      ? messages.reduce((sum, m) => sum + m.images, 0)
      : Array.isArray(body['images'])
        ? body['images'].length
        : 0;
  if (!passesModelChecks(ex, kind, body, model, info, images)) {
    return;
  }

  const numCtx = intOption(body['options'], 'num_ctx') ?? ctx.options.defaultNumCtx;
  const lease = await ctx.scheduler.acquire(info, { keepAliveNs, numCtx, signal: ex.signal });
  const readyNs = monotonicNs();
  try {
    if (isEmpty) {
      sendJson(res, 200, emptyReply(kind, model, 'load'));
      return;
    }
    const mostImages = kind === 'chat' ? Math.max(0, ...messages.map((m) => m.images)) : images;
    if (info.details.families.includes('mllama') && mostImages > 1) {
      // Generate checks this itself (400); chat meets it while building the prompt (500).
      sendOllamaError(res, kind === 'generate' ? 400 : 500, MLLAMA_ONE_IMAGE);
      return;
    }
    const stream = body['stream'] !== false;
    const { format, error: formatError } = parseFormat(body['format']);
    if (formatError !== undefined) {
      sendOllamaError(res, 500, formatError, stream ? JSON_BARE : JSON_UTF8);
      return;
    }
    const lastUser = kind === 'chat' ? ([...messages].reverse().find((m) => m.role === 'user')?.content ?? '') : prompt;
    const replyRequest: ReplyRequest = {
      endpoint: kind,
      model,
      prompt: lastUser,
      messages: messages.map(({ role, content }) => ({ role, content })),
      images,
      tools: kind === 'chat' ? toolsOf(body) : [],
      toolResults: kind === 'chat' ? toolResultsOf(rawMessages(body)) : [],
      body,
    };
    const promptParts =
      kind === 'chat' ? messages.map((m) => m.content) : [str(body['system']), prompt].filter((p) => p !== '');
    const reply: ReplyContext = {
      ctx,
      ex,
      kind,
      model,
      stream,
      fault,
      timeline: { readyNs, generationStartNs: monotonicNs() },
      promptTokens: countPromptTokens(promptParts, 4),
      withContext: body['raw'] !== true,
    };
    // A schema constrains the output to JSON content, so the model makes no tool call then.
    const calls = format === undefined ? planToolCalls(ctx.options.toolCalls, replyRequest) : [];
    if (calls.length > 0) {
      await replyWithToolCalls(reply, toOllamaToolCalls(calls));
      return;
    }
    await replyWithText(reply, compose(ctx, replyRequest, format, intOption(body['options'], 'num_predict'), fault));
  } finally {
    ctx.scheduler.release(lease);
  }
}
