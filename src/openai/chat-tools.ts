import type { LlmTool } from '../llm/llm.types';
import { LEGACY_FUNCTIONS } from './chat-messages';
import { OpenAiRequestError } from './openai-error';
import { booleanField, given, invalidType, invalidValue, isObject, Json, missing } from './request-fields';

/** OpenAI's own limit on the tools of one request. */
export const MAX_TOOLS = 128;
/** OpenAI's rule for function names. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** What a function without `parameters` takes: nothing. */
const NO_PARAMETERS = { type: 'object', properties: {} };

/**
 * How the model is offered the request's tools.
 * - `auto`: the tools go to Ollama and the model decides whether to call any; with `parallel` false at
 *   most its first call is kept.
 * - `forced` (`tool_choice` `required` or a named function): Ollama ignores `tool_choice`, so no tools
 *   are sent; the model's output is constrained instead to one call of one of `allowed`, and the
 *   answer is turned into that call.
 */
export type ToolUse = { mode: 'auto'; tools: LlmTool[]; parallel: boolean } | { mode: 'forced'; allowed: LlmTool[] };

function toTool(value: unknown, param: string): LlmTool {
  if (!isObject(value)) {
    throw invalidType(param, 'an object', value);
  }
  if (value.type !== 'function') {
    throw OpenAiRequestError.invalid(
      `Invalid value for '${param}.type': only 'function' tools are supported, got ${JSON.stringify(value.type)}.`,
      `${param}.type`,
      'unsupported_tool_type',
    );
  }
  const fn = value.function;
  if (!isObject(fn)) {
    throw fn === undefined || fn === null
      ? missing(`${param}.function`)
      : invalidType(`${param}.function`, 'an object', fn);
  }
  const name = fn.name;
  if (name === undefined || name === null || name === '') {
    throw missing(`${param}.function.name`);
  }
  if (typeof name !== 'string' || !FUNCTION_NAME.test(name)) {
    throw invalidValue(`${param}.function.name`, 'must be 1 to 64 letters, digits, underscores or dashes');
  }
  const description = given(fn, 'description');
  if (description !== undefined && typeof description !== 'string') {
    throw invalidType(`${param}.function.description`, 'a string', description);
  }
  booleanField(fn, 'strict', `${param}.function.strict`);
  const parameters = given(fn, 'parameters') ?? NO_PARAMETERS;
  if (!isObject(parameters) || parameters.type !== 'object') {
    throw invalidValue(
      `${param}.function.parameters`,
      'must be a JSON schema of an object, e.g. {"type": "object", "properties": {"city": {"type": "string"}}}',
    );
  }
  return { name, ...(description !== undefined && { description }), parameters };
}

function toTools(body: Json): LlmTool[] {
  const tools = given(body, 'tools');
  if (tools === undefined) {
    return [];
  }
  if (!Array.isArray(tools)) {
    throw invalidType('tools', 'an array', tools);
  }
  if (tools.length > MAX_TOOLS) {
    throw invalidValue('tools', `at most ${MAX_TOOLS} tools are accepted`);
  }
  const seen = new Map<string, number>();
  return tools.map((tool: unknown, index) => {
    const parsed = toTool(tool, `tools[${index}]`);
    const first = seen.get(parsed.name);
    if (first !== undefined) {
      throw OpenAiRequestError.invalid(
        `Invalid value for 'tools[${index}].function.name': tools[${first}] already has the name ` +
          `${JSON.stringify(parsed.name)}; every tool needs a name of its own.`,
        `tools[${index}].function.name`,
        'duplicate_tool_name',
      );
    }
    seen.set(parsed.name, index);
    return parsed;
  });
}

type Choice = 'none' | 'auto' | 'required' | { name: string };

function toChoice(body: Json): Choice | undefined {
  const choice = given(body, 'tool_choice');
  if (choice === undefined) {
    return undefined;
  }
  if (choice === 'none' || choice === 'auto' || choice === 'required') {
    return choice;
  }
  if (typeof choice === 'string') {
    throw invalidValue(
      'tool_choice',
      `must be 'none', 'auto', 'required' or a function, got ${JSON.stringify(choice)}`,
    );
  }
  if (!isObject(choice)) {
    throw invalidType('tool_choice', "a string or an object such as {type: 'function', function: {name}}", choice);
  }
  if (choice.type !== 'function') {
    throw OpenAiRequestError.invalid(
      `Invalid value for 'tool_choice.type': only 'function' is supported, got ${JSON.stringify(choice.type)}.`,
      'tool_choice.type',
      'unsupported_value',
    );
  }
  const fn = choice.function;
  if (!isObject(fn) || typeof fn.name !== 'string' || fn.name === '') {
    throw missing('tool_choice.function.name');
  }
  return { name: fn.name };
}

/**
 * The request's `tools`, `tool_choice` and `parallel_tool_calls`, checked; `undefined` when the model
 * is offered no tools (none given, or `tool_choice: "none"`).
 * @throws OpenAiRequestError 400 for a tool that is not a `function` with a valid name and an object
 *   schema as `parameters`, two tools with one name, `tool_choice` naming a tool not in `tools`,
 *   `required` without tools, or the legacy `functions`.
 */
export function parseToolUse(body: Json): ToolUse | undefined {
  const functions = given(body, 'functions');
  if (Array.isArray(functions) && functions.length > 0) {
    throw OpenAiRequestError.invalid(LEGACY_FUNCTIONS, 'functions', 'unsupported_parameter');
  }
  const tools = toTools(body);
  const choice = toChoice(body);
  const parallel = booleanField(body, 'parallel_tool_calls') ?? true;
  if (choice === 'required' && tools.length === 0) {
    throw invalidValue('tool_choice', "'required' needs at least one tool in 'tools'");
  }
  if (typeof choice === 'object') {
    const named = tools.find((tool) => tool.name === choice.name);
    if (named === undefined) {
      const offered =
        tools.length === 0 ? 'no tools are given' : `the tools are ${tools.map((t) => t.name).join(', ')}`;
      throw invalidValue(
        'tool_choice.function.name',
        `names ${JSON.stringify(choice.name)}, which is not in 'tools' (${offered})`,
      );
    }
    return { mode: 'forced', allowed: [named] };
  }
  if (tools.length === 0 || choice === 'none') {
    return undefined;
  }
  return choice === 'required' ? { mode: 'forced', allowed: tools } : { mode: 'auto', tools, parallel };
}
