/** The OpenAI-compatible endpoints: `POST /v1/chat/completions`, `GET /v1/models[/:model]`. */
import { capabilityErrorText, missingCapabilities, type Capability } from './capabilities';
import type { EmulatorContext } from './context';
import { compose, metricsFor, produceTokens, type Format } from './generation';
import { EmptyBodyError, decodeFirstJsonValue } from './go-json';
import { monotonicNs } from './go-time';
import { JSON_BARE, SseWriter, isRecord, openAiErrorBody, sendJson, sendOpenAiError, type Exchange } from './http-util';
import { GoError } from './keep-alive';
import { normaliseModelName, parseModelName } from './model-names';
import { countPromptTokens } from './reply';
import { toolsOf } from './tool-calls';
import type { Fault } from './types';

/** Message content may be a string or an array of typed parts; only text parts matter here. */
function contentText(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (Array.isArray(content)) {
    return content
      .filter(isRecord)
      .map((part) => (part['type'] === 'text' && typeof part['text'] === 'string' ? part['text'] : ''))
      .join('');
  }
  return '';
}

/** Image parts (`image_url` data URIs) of a message's content. */
function imageParts(content: unknown): number {
  return Array.isArray(content) ? content.filter((part) => isRecord(part) && part['type'] === 'image_url').length : 0;
}

function responseFormat(value: unknown): Format | undefined {
  if (!isRecord(value)) {
    return undefined;
  }
  if (value['type'] === 'json_object') {
    return 'json';
  }
  const schema = isRecord(value['json_schema']) ? value['json_schema']['schema'] : undefined;
  if (value['type'] === 'json_schema' && isRecord(schema)) {
    return schema;
  }
  return undefined;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) {
    return 'array';
  }
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

export async function handleOpenAiChat(ctx: EmulatorContext, ex: Exchange, fault: Fault | undefined): Promise<void> {
  const res = ex.res;
  let raw: unknown;
  try {
    raw = decodeFirstJsonValue(ex.body);
  } catch (err) {
    if (err instanceof EmptyBodyError || err instanceof GoError) {
      sendOpenAiError(res, 400, err.message);
      return;
    }
    throw err;
  }
  if (raw !== null && !isRecord(raw)) {
    sendOpenAiError(
      res,
      400,
      `json: cannot unmarshal ${jsonKind(raw)} into Go value of type openai.ChatCompletionRequest`,
    );
    return;
  }
  const body = raw ?? {};
  const rawMessages = Array.isArray(body['messages']) ? body['messages'] : [];
  if (rawMessages.length === 0) {
    sendOpenAiError(res, 400, "[] is too short - 'messages'");
    return;
  }
  const model = typeof body['model'] === 'string' ? body['model'] : '';
  const normalised = model === '' ? undefined : normaliseModelName(model);
  if (normalised === undefined) {
    sendOpenAiError(res, 400, model === '' ? 'model is required' : 'invalid model name');
    return;
  }
  const local = ctx.catalog.find(normalised);
  if (local === undefined) {
    sendOpenAiError(res, 404, `model '${model}' not found`);
    return;
  }
  const messages = rawMessages.filter(isRecord).map((m) => ({
    role: typeof m['role'] === 'string' ? m['role'].toLowerCase() : '',
    content: contentText(m['content']),
  }));
  const images = rawMessages.filter(isRecord).reduce((sum, m) => sum + imageParts(m['content']), 0);
  const tools = toolsOf(body);
  const wanted: Capability[] = [
    'completion',
    ...(tools.length > 0 ? ['tools' as const] : []),
    ...(images > 0 ? ['vision' as const] : []),
  ];
  const missing = missingCapabilities(local.info.capabilities, wanted);
  if (missing.length > 0) {
    // The middleware turns the native handler's error into OpenAI's shape, text unchanged.
    sendOpenAiError(res, 400, capabilityErrorText('chat', model, local.info.fullName, missing));
    return;
  }
  const stream = body['stream'] === true;
  const maxTokens = typeof body['max_tokens'] === 'number' ? body['max_tokens'] : undefined;
  const streamOptions = body['stream_options'];
  const includeUsage = isRecord(streamOptions) && streamOptions['include_usage'] === true;

  // This endpoint has no keep_alive and no options: the runner keeps its keep-alive, and the
  // context size is the server default (a different num_ctx from a warm-up reloads the model).
  const lease = await ctx.scheduler.acquire(local.info, { numCtx: ctx.options.defaultNumCtx, signal: ex.signal });
  const readyNs = monotonicNs();
  try {
    const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const completion = compose(
      ctx,
      { endpoint: 'openai-chat', model, prompt: lastUser, messages, images, tools, toolResults: [], body },
      responseFormat(body['response_format']),
      maxTokens,
      fault,
    );
    const promptTokens = countPromptTokens(
      messages.map((m) => m.content),
      4,
    );
    const timeline = { readyNs, generationStartNs: monotonicNs() };
    const id = `chatcmpl-${Math.floor(Math.random() * 999)}`;
    const created = Math.floor(Date.now() / 1000);
    const header = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_ollama' };

    if (stream) {
      const writer = new SseWriter(res);
      let first = true;
      const result = await produceTokens(ctx, ex, completion.tokens, fault, (token) => {
        const delta = first ? { role: 'assistant', content: token } : { content: token };
        first = false;
        writer.send({ ...header, choices: [{ index: 0, delta, finish_reason: null }] });
      });
      if (result.error !== undefined) {
        writer.send(openAiErrorBody(500, result.error));
        writer.end();
        return;
      }
      writer.send({ ...header, choices: [{ index: 0, delta: {}, finish_reason: completion.doneReason }] });
      if (includeUsage) {
        const metrics = metricsFor(ex, timeline, promptTokens, completion.tokens.length);
        const usage = {
          prompt_tokens: metrics.prompt_eval_count,
          completion_tokens: metrics.eval_count,
          total_tokens: metrics.prompt_eval_count + metrics.eval_count,
        };
        writer.send({ ...header, choices: [], usage });
      }
      writer.done();
      writer.end();
      return;
    }

    let text = '';
    const result = await produceTokens(ctx, ex, completion.tokens, fault, (token) => {
      text += token;
    });
    if (result.error !== undefined) {
      sendOpenAiError(res, 500, result.error);
      return;
    }
    const metrics = metricsFor(ex, timeline, promptTokens, completion.tokens.length);
    sendJson(
      res,
      200,
      {
        id,
        object: 'chat.completion',
        created,
        model,
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: completion.doneReason }],
        usage: {
          prompt_tokens: metrics.prompt_eval_count,
          completion_tokens: metrics.eval_count,
          total_tokens: metrics.prompt_eval_count + metrics.eval_count,
        },
      },
      JSON_BARE,
    );
  } finally {
    ctx.scheduler.release(lease);
  }
}

function modelEntry(name: string, modifiedAtNs: bigint): Record<string, unknown> {
  return {
    id: name,
    object: 'model',
    created: Number(modifiedAtNs / 1_000_000_000n),
    owned_by: parseModelName(name)?.namespace ?? 'library',
  };
}

export function handleOpenAiModels(ctx: EmulatorContext, ex: Exchange): void {
  const models = ctx.catalog.list();
  // Ollama builds a nil slice when there are no models, which encodes as null.
  const data = models.length === 0 ? null : models.map((m) => modelEntry(m.info.name, m.modifiedAtNs));
  sendJson(ex.res, 200, { object: 'list', data }, JSON_BARE);
}

export function handleOpenAiModel(ctx: EmulatorContext, ex: Exchange, rawName: string): void {
  const normalised = normaliseModelName(rawName);
  const local = normalised === undefined ? undefined : ctx.catalog.find(normalised);
  if (local === undefined) {
    if (normalised === undefined) {
      sendOpenAiError(ex.res, 400, 'invalid model name');
    } else {
      sendOpenAiError(ex.res, 404, `model '${normalised}' not found`);
    }
    return;
  }
  sendJson(ex.res, 200, { ...modelEntry(local.info.name, local.modifiedAtNs), id: rawName }, JSON_BARE);
}
