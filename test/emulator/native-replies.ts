/** The answers of `/api/chat` and `/api/generate`: streamed NDJSON chunks or one object, text or tool calls. */
import type { EmulatorContext } from './context';
import { metricsFor, produceTokens, type Completion, type Metrics, type Timeline } from './generation';
import { formatUtcRfc3339Nano, nowNs } from './go-time';
import { NdjsonWriter, sendJson, sendOllamaError, type Exchange } from './http-util';
import { tokenize } from './reply';
import type { OllamaToolCall } from './tool-calls';
import type { Fault } from './types';

export type Kind = 'chat' | 'generate';

/** What every answer needs besides its content. */
export interface ReplyContext {
  ctx: EmulatorContext;
  ex: Exchange;
  kind: Kind;
  /** The model exactly as the request named it. */
  model: string;
  stream: boolean;
  fault: Fault | undefined;
  timeline: Timeline;
  promptTokens: number;
  /** Generate's final chunk carries `context` unless the request was raw. */
  withContext: boolean;
}

function base(model: string): { model: string; created_at: string } {
  return { model, created_at: formatUtcRfc3339Nano(nowNs()) };
}

export function emptyReply(kind: Kind, model: string, doneReason: 'load' | 'unload'): Record<string, unknown> {
  return kind === 'chat'
    ? { ...base(model), message: { role: 'assistant', content: '' }, done: true, done_reason: doneReason }
    : { ...base(model), response: '', done: true, done_reason: doneReason };
}

function chunk(kind: Kind, model: string, text: string): Record<string, unknown> {
  return kind === 'chat'
    ? { ...base(model), message: { role: 'assistant', content: text }, done: false }
    : { ...base(model), response: text, done: false };
}

/** Token ids for generate's deprecated `context` field. */
function contextIds(count: number): number[] {
  return Array.from({ length: Math.min(count, 2048) }, (_, i) => 1000 + ((i * 7919) % 120_000));
}

function finalReply(
  reply: ReplyContext,
  message: { content: string; tool_calls?: OllamaToolCall[] },
  doneReason: Completion['doneReason'],
  metrics: Metrics,
): Record<string, unknown> {
  if (reply.kind === 'chat') {
    return {
      ...base(reply.model),
      message: { role: 'assistant', ...message },
      done: true,
      done_reason: doneReason,
      ...metrics,
    };
  }
  const context = reply.withContext ? { context: contextIds(metrics.prompt_eval_count + metrics.eval_count) } : {};
  return {
    ...base(reply.model),
    response: message.content,
    done: true,
    done_reason: doneReason,
    ...context,
    ...metrics,
  };
}

/** Streams the text token by token (or sends it whole), applying streaming faults. */
export async function replyWithText(reply: ReplyContext, completion: Completion): Promise<void> {
  const { ctx, ex, fault, kind, model } = reply;
  const metrics = (): Metrics => metricsFor(ex, reply.timeline, reply.promptTokens, completion.tokens.length);
  if (reply.stream) {
    const writer = new NdjsonWriter(ex.res);
    const result = await produceTokens(ctx, ex, completion.tokens, fault, (token) =>
      writer.send(chunk(kind, model, token)),
    );
    if (result.error !== undefined) {
      // A failure after the stream began: status stays 200 and the stream ends without done.
      writer.send({ error: result.error });
      writer.end();
      return;
    }
    writer.send(finalReply(reply, { content: '' }, completion.doneReason, metrics()));
    writer.end();
    return;
  }
  let text = '';
  const result = await produceTokens(ctx, ex, completion.tokens, fault, (token) => {
    text += token;
  });
  if (result.error !== undefined) {
    sendOllamaError(ex.res, 500, result.error);
    return;
  }
  sendJson(ex.res, 200, finalReply(reply, { content: text }, completion.doneReason, metrics()));
}

/**
 * Answers with tool calls as Ollama's tool parser emits them: streamed, one chunk with every call
 * and empty content, then the final `done` chunk; not streamed, one object with the calls.
 */
export async function replyWithToolCalls(reply: ReplyContext, calls: OllamaToolCall[]): Promise<void> {
  const { ctx, ex, fault, model } = reply;
  const evalCount = tokenize(JSON.stringify(calls.map((call) => call.function))).length;
  const metrics = (): Metrics => metricsFor(ex, reply.timeline, reply.promptTokens, evalCount);
  // The calls go out as one unit, so streaming faults apply to them as to a single token.
  const unit = ['tool_calls'];
  if (reply.stream) {
    const writer = new NdjsonWriter(ex.res);
    const result = await produceTokens(ctx, ex, unit, fault, () =>
      writer.send({
        ...base(model),
        message: { role: 'assistant', content: '', tool_calls: calls },
        done: false,
      }),
    );
    if (result.error !== undefined) {
      writer.send({ error: result.error });
      writer.end();
      return;
    }
    writer.send(finalReply(reply, { content: '' }, 'stop', metrics()));
    writer.end();
    return;
  }
  const result = await produceTokens(ctx, ex, unit, fault, () => undefined);
  if (result.error !== undefined) {
    sendOllamaError(ex.res, 500, result.error);
    return;
  }
  sendJson(ex.res, 200, finalReply(reply, { content: '', tool_calls: calls }, 'stop', metrics()));
}
