import type { LlmChatRequest, LlmMessage, LlmTool, LlmToolCall } from '../llm/llm.types';

/**
 * `tool_choice` `required` or a named function, which Ollama does not honour, done with what it does
 * honour: structured outputs. The request goes without `tools`; its `format` is a JSON schema that only
 * admits one call of an allowed tool, `{"name": <tool>, "arguments": <its parameters>}` (several tools:
 * an `anyOf` of those), and a system message tells the model which tools there are. The answer is then
 * turned back into that call. A forced choice always yields exactly one call.
 */

type Schema = Record<string, unknown>;

function callSchema(tool: LlmTool): Schema {
  return {
    type: 'object',
    properties: { name: { const: tool.name }, arguments: tool.parameters },
    required: ['name', 'arguments'],
    additionalProperties: false,
  };
}

/** The `format` that admits exactly one call of one of `allowed`. */
export function forcedCallFormat(allowed: readonly LlmTool[]): Schema {
  return allowed.length === 1 ? callSchema(allowed[0]) : { anyOf: allowed.map(callSchema) };
}

function instruction(allowed: readonly LlmTool[]): LlmMessage {
  const which =
    allowed.length === 1
      ? `You must call the tool ${JSON.stringify(allowed[0].name)}.`
      : 'You must call exactly one of the tools below.';
  const tools = allowed.map(({ name, description, parameters }) => ({
    name,
    ...(description !== undefined && { description }),
    parameters,
  }));
  return {
    role: 'system',
    content:
      `${which} Answer only with a JSON object {"name": <the tool's name>, "arguments": <an object of ` +
      `its arguments, following its parameters schema>}.\nTools: ${JSON.stringify(tools)}`,
  };
}

/**
 * `llm` asked for one call of one of `allowed`: no `tools`, the call's schema as `format`, and the
 * tools described in a system message after the conversation's leading system messages.
 */
export function forceToolCall(llm: LlmChatRequest, allowed: readonly LlmTool[]): LlmChatRequest {
  const at = llm.messages.findIndex((message) => message.role !== 'system');
  const messages = [...llm.messages];
  messages.splice(at === -1 ? messages.length : at, 0, instruction(allowed));
  const forced: LlmChatRequest = { ...llm, messages, format: forcedCallFormat(allowed) };
  delete forced.tools;
  return forced;
}

export type ForcedCallAnswer = { call: LlmToolCall } | { problem: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The model's answer to a forced choice as a call of an allowed tool, or what is wrong with it. */
export function parseForcedCall(content: string, allowed: readonly LlmTool[]): ForcedCallAnswer {
  let answer: unknown;
  try {
    answer = JSON.parse(content);
  } catch {
    return { problem: 'the answer is not JSON' };
  }
  if (!isObject(answer)) {
    return { problem: 'the answer is not a JSON object' };
  }
  const tool = allowed.find(({ name }) => name === answer.name);
  if (tool === undefined) {
    return { problem: `the answer names ${JSON.stringify(answer.name)}, which is not an allowed tool` };
  }
  const args = answer.arguments;
  if (!isObject(args)) {
    return { problem: `the arguments of ${tool.name} are not an object` };
  }
  const required = Array.isArray(tool.parameters.required) ? tool.parameters.required : [];
  const absent = required.filter((key): key is string => typeof key === 'string' && !(key in args));
  if (absent.length > 0) {
    return { problem: `the arguments of ${tool.name} lack ${absent.join(', ')}` };
  }
  return { call: { name: tool.name, arguments: args } };
}
