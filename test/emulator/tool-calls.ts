/**
 * Tools in a chat: what a request offers, the tool results it hands back, and the calls the emulated
 * model makes — decided by the `toolCalls` option or a `[[tools: …]]` directive in the user's message,
 * with arguments sampled from each tool's `parameters` schema unless scripted.
 */
import { randomInt } from 'node:crypto';

import { isRecord } from './http-util';
import { sampleFromSchema } from './schema-sample';
import type { ReplyRequest, ScriptedToolCall, ToolCallMode, ToolResult, ToolSpec } from './types';

/** Ollama's `api.ToolCall` as the chat endpoint writes it. */
export interface OllamaToolCall {
  id: string;
  function: { index: number; name: string; arguments: Record<string, unknown> };
}

const DIRECTIVE = /\[\[\s*tools\s*:\s*([^\]]*)\]\]/i;
const RESULT_SNIPPET_LENGTH = 200;
const ID_LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789';

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The functions of a chat request's `tools`, in order; entries without a name are skipped. */
export function toolsOf(body: Record<string, unknown>): ToolSpec[] {
  const tools = Array.isArray(body['tools']) ? body['tools'] : [];
  return tools
    .map((tool) => (isRecord(tool) && isRecord(tool['function']) ? tool['function'] : undefined))
    .filter((fn): fn is Record<string, unknown> => fn !== undefined && str(fn['name']) !== '')
    .map((fn) => ({ name: str(fn['name']), parameters: fn['parameters'] }));
}

/**
 * The `tool` messages after the last user message, named by `tool_name`, else by the assistant tool
 * call they answer (`tool_call_id`, else their position after that assistant message).
 */
export function toolResultsOf(messages: readonly unknown[]): ToolResult[] {
  const records = messages.filter(isRecord);
  const lastUser = records.map((m) => str(m['role']).toLowerCase()).lastIndexOf('user');
  const callNames = new Map<string, string>();
  let pendingCalls: string[] = [];
  const results: ToolResult[] = [];
  records.forEach((message, index) => {
    const role = str(message['role']).toLowerCase();
    if (role === 'assistant' && Array.isArray(message['tool_calls'])) {
      pendingCalls = [];
      for (const call of message['tool_calls']) {
        const fn = isRecord(call) && isRecord(call['function']) ? call['function'] : {};
        pendingCalls.push(str(fn['name']));
        if (isRecord(call) && str(call['id']) !== '') {
          callNames.set(str(call['id']), str(fn['name']));
        }
      }
      return;
    }
    if (role !== 'tool') {
      return;
    }
    const byId = callNames.get(str(message['tool_call_id']));
    const name = str(message['tool_name']) || byId || pendingCalls.shift() || '';
    if (index > lastUser) {
      results.push({ name, content: str(message['content']) });
    }
  });
  return results;
}

export function isToolCallMode(value: unknown): value is ToolCallMode {
  if (value === 'auto' || value === 'none' || value === 'all') {
    return true;
  }
  return (
    isRecord(value) &&
    Array.isArray(value['calls']) &&
    value['calls'].every((call) => isRecord(call) && typeof call['name'] === 'string' && call['name'] !== '')
  );
}

/** `[[tools: none]]`, `[[tools: all]]`, `[[tools: auto]]` or `[[tools: name1, name2]]` in a message. */
export function directiveOf(text: string): ToolCallMode | undefined {
  const match = DIRECTIVE.exec(text);
  if (match === null) {
    return undefined;
  }
  const names = (match[1] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const [only] = names;
  if (names.length === 1 && (only === 'none' || only === 'all' || only === 'auto')) {
    return only;
  }
  return { calls: names.map((name) => ({ name })) };
}

/** Arguments that satisfy the tool's `parameters` schema (an object, as Ollama's tool calls carry). */
function sampleArguments(tool: ToolSpec | undefined): Record<string, unknown> {
  const parameters = tool?.parameters;
  if (!isRecord(parameters)) {
    return {};
  }
  const sample = sampleFromSchema({ type: 'object', ...parameters });
  return isRecord(sample) ? sample : {};
}

function resolveMode(mode: ToolCallMode, tools: readonly ToolSpec[]): ScriptedToolCall[] {
  switch (mode) {
    case 'none':
      return [];
    case 'auto':
      return tools.slice(0, 1).map((tool) => ({ name: tool.name }));
    case 'all':
      return tools.map((tool) => ({ name: tool.name }));
    default:
      return mode.calls;
  }
}

/**
 * The calls the model makes for a chat request that offers tools. A directive in the last user
 * message wins, then a `toolCalls` function (asked every time), then a fixed mode (default `'auto'`);
 * directives and fixed modes make no call once a tool result follows the last user message.
 */
export function planToolCalls(
  option: ToolCallMode | ((request: ReplyRequest) => ToolCallMode) | undefined,
  request: ReplyRequest,
): Array<Required<ScriptedToolCall>> {
  if (request.tools.length === 0) {
    return [];
  }
  const fresh = request.toolResults.length === 0;
  const directive = fresh ? directiveOf(request.prompt) : undefined;
  let mode: ToolCallMode;
  if (directive !== undefined) {
    mode = directive;
  } else if (typeof option === 'function') {
    mode = option(request);
  } else if (!fresh) {
    return [];
  } else {
    mode = option ?? 'auto';
  }
  return resolveMode(mode, request.tools).map((call) => ({
    name: call.name,
    arguments: call.arguments ?? sampleArguments(request.tools.find((tool) => tool.name === call.name)),
  }));
}

/** Ollama's `toolCallId()`: `call_` and 8 random lower-case letters or digits. */
function toolCallId(): string {
  let id = 'call_';
  for (let i = 0; i < 8; i++) {
    id += ID_LETTERS[randomInt(ID_LETTERS.length)] ?? 'a';
  }
  return id;
}

export function toOllamaToolCalls(calls: ReadonlyArray<Required<ScriptedToolCall>>): OllamaToolCall[] {
  return calls.map((call, index) => ({
    id: toolCallId(),
    function: { index, name: call.name, arguments: call.arguments },
  }));
}

/** The answer once tool results came back: it quotes each result, so a test sees what reached the model. */
export function toolResultReply(results: readonly ToolResult[]): string {
  const parts = results.map((result) => {
    const snippet = result.content.replace(/\s+/g, ' ').trim().slice(0, RESULT_SNIPPET_LENGTH);
    return `${result.name || 'the tool'} returned ${snippet === '' ? 'nothing' : snippet}`;
  });
  return `Based on the tool results: ${parts.join('; ')}.`;
}
