import type { LlmMessage, LlmToolCall } from '../llm/llm.types';
import { imageOfPart } from './image-input';
import { OpenAiRequestError } from './openai-error';
import { invalidType, invalidValue, isObject, missing } from './request-fields';

/** Messages in one request; text lengths are bounded by BODY_LIMIT_BYTES. */
export const MAX_MESSAGES = 1000;
/** Content parts of one message. */
export const MAX_CONTENT_PARTS = 100;
/** Tool calls of one assistant message. */
export const MAX_TOOL_CALLS = 128;

export const LEGACY_FUNCTIONS =
  "the legacy 'functions' API is not supported; send 'tools', assistant 'tool_calls' and 'tool' messages instead";

interface Content {
  text: string;
  images: string[];
}

/**
 * Text parts are joined with a line break, so that separate pieces of text stay separate for the
 * model; image parts (user messages only) become the message's images, in order.
 */
function contentOf(content: unknown, param: string, imagesAllowed: boolean): Content {
  if (typeof content === 'string') {
    return { text: content, images: [] };
  }
  if (!Array.isArray(content)) {
    throw invalidType(param, 'a string or an array of content parts', content);
  }
  if (content.length > MAX_CONTENT_PARTS) {
    throw invalidValue(param, `at most ${MAX_CONTENT_PARTS} content parts are accepted`);
  }
  const texts: string[] = [];
  const images: string[] = [];
  content.forEach((part: unknown, index) => {
    const partParam = `${param}[${index}]`;
    if (!isObject(part)) {
      throw invalidType(partParam, 'an object', part);
    }
    if (part.type === 'text') {
      if (typeof part.text !== 'string') {
        throw invalidType(`${partParam}.text`, 'a string', part.text);
      }
      texts.push(part.text);
    } else if (part.type === 'image_url' && imagesAllowed) {
      images.push(imageOfPart(part, partParam));
    } else {
      const allowed = imagesAllowed ? "'text' and 'image_url' content parts are" : "'text' content parts are";
      throw OpenAiRequestError.invalid(
        `Invalid value for '${partParam}.type': only ${allowed} supported here, got ${JSON.stringify(part.type)}.`,
        `${partParam}.type`,
        'unsupported_content_type',
      );
    }
  });
  return { text: texts.join('\n'), images };
}

function requiredContent(message: Record<string, unknown>, param: string, imagesAllowed = false): Content {
  if (message.content === undefined || message.content === null) {
    throw missing(`${param}.content`);
  }
  return contentOf(message.content, `${param}.content`, imagesAllowed);
}

/** OpenAI sends a call's arguments as a JSON string; Ollama takes the object. */
function argumentsOf(value: unknown, param: string): Record<string, unknown> {
  if (typeof value !== 'string') {
    throw invalidType(param, 'a string of JSON', value);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw OpenAiRequestError.invalid(
      `Invalid value for '${param}': the tool call's arguments are not valid JSON; send them as a JSON object ` +
        'in a string, e.g. "{\\"city\\": \\"Oslo\\"}".',
      param,
      'invalid_tool_arguments',
    );
  }
  if (!isObject(parsed)) {
    throw invalidValue(param, 'the tool call\'s arguments must be a JSON object, e.g. "{}"');
  }
  return parsed;
}

/** An assistant message's `tool_calls`; each id is remembered, so that later tool messages can name the call. */
function toolCallsOf(value: unknown, param: string, callNames: Map<string, string>): LlmToolCall[] {
  if (!Array.isArray(value)) {
    throw invalidType(param, 'an array', value);
  }
  if (value.length > MAX_TOOL_CALLS) {
    throw invalidValue(param, `at most ${MAX_TOOL_CALLS} tool calls are accepted`);
  }
  return value.map((call: unknown, index) => {
    const callParam = `${param}[${index}]`;
    if (!isObject(call)) {
      throw invalidType(callParam, 'an object', call);
    }
    if (call.type !== 'function') {
      throw invalidValue(`${callParam}.type`, `must be 'function', got ${JSON.stringify(call.type)}`);
    }
    if (typeof call.id !== 'string' || call.id === '') {
      throw missing(`${callParam}.id`);
    }
    const fn = call.function;
    if (!isObject(fn)) {
      throw invalidType(`${callParam}.function`, 'an object', fn);
    }
    if (typeof fn.name !== 'string' || fn.name === '') {
      throw missing(`${callParam}.function.name`);
    }
    callNames.set(call.id, fn.name);
    return { name: fn.name, arguments: argumentsOf(fn.arguments, `${callParam}.function.arguments`) };
  });
}

function toMessage(message: unknown, param: string, callNames: Map<string, string>): LlmMessage {
  if (!isObject(message)) {
    throw invalidType(param, 'an object', message);
  }
  const role = message.role;
  switch (role) {
    case 'system':
    case 'developer':
      // `developer` is the newer name OpenAI gives system instructions; Ollama knows only `system`.
      return { role: 'system', content: requiredContent(message, param).text };
    case 'user': {
      const { text, images } = requiredContent(message, param, true);
      return { role: 'user', content: text, ...(images.length > 0 && { images }) };
    }
    case 'assistant': {
      if (isObject(message.function_call)) {
        throw OpenAiRequestError.invalid(LEGACY_FUNCTIONS, `${param}.function_call`, 'unsupported_parameter');
      }
      const content =
        message.content === undefined || message.content === null
          ? ''
          : contentOf(message.content, `${param}.content`, false).text;
      const toolCalls =
        message.tool_calls === undefined || message.tool_calls === null
          ? []
          : toolCallsOf(message.tool_calls, `${param}.tool_calls`, callNames);
      return { role: 'assistant', content, ...(toolCalls.length > 0 && { toolCalls }) };
    }
    case 'tool': {
      const id = message.tool_call_id;
      if (typeof id !== 'string' || id === '') {
        throw missing(`${param}.tool_call_id`);
      }
      const toolName = callNames.get(id);
      if (toolName === undefined) {
        throw OpenAiRequestError.invalid(
          `Invalid value for '${param}.tool_call_id': no earlier assistant message has a tool call with the id ` +
            `${JSON.stringify(id)}; a tool message answers one of the tool_calls before it.`,
          `${param}.tool_call_id`,
          'unknown_tool_call_id',
        );
      }
      return { role: 'tool', content: requiredContent(message, param).text, toolName };
    }
    case 'function':
      throw OpenAiRequestError.invalid(LEGACY_FUNCTIONS, `${param}.role`, 'unsupported_parameter');
    default:
      throw invalidValue(
        `${param}.role`,
        `must be one of 'system', 'developer', 'user', 'assistant', 'tool', got ${JSON.stringify(role)}`,
      );
  }
}

/**
 * The conversation for the model: roles kept (developer → system), content parts flattened, images
 * inlined, assistant tool calls with their arguments parsed, and each tool message tied to the tool
 * its `tool_call_id` names (Ollama knows tool results by the tool's name).
 * @throws OpenAiRequestError 400 naming the message (and part) at fault.
 */
export function parseMessages(messages: unknown): LlmMessage[] {
  if (messages === undefined || messages === null) {
    throw missing('messages');
  }
  if (!Array.isArray(messages)) {
    throw invalidType('messages', 'an array', messages);
  }
  if (messages.length === 0) {
    throw invalidValue('messages', 'at least one message is required');
  }
  if (messages.length > MAX_MESSAGES) {
    throw invalidValue('messages', `at most ${MAX_MESSAGES} messages are accepted`);
  }
  const callNames = new Map<string, string>();
  return messages.map((message: unknown, index) => toMessage(message, `messages[${index}]`, callNames));
}
