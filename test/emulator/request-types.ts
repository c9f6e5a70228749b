/** The shapes of Ollama's request structs (`api/types.go`), for decoding bodies as gin binds them. */
import type { GoType } from './go-json';
import { GoError, parseApiKeepAlive } from './keep-alive';

const str: GoType = { kind: 'string' };
const bool: GoType = { kind: 'bool' };
const anyValue: GoType = { kind: 'any' };
const options: GoType = { kind: 'map', name: 'map[string]interface {}' };

const imageData: GoType = { kind: 'slice', name: '[]api.ImageData', of: { kind: 'base64', name: 'api.ImageData' } };

const toolCall: GoType = {
  kind: 'struct',
  name: 'ToolCall',
  goName: 'api.ToolCall',
  fields: {
    id: str,
    function: {
      kind: 'struct',
      name: 'ToolCallFunction',
      goName: 'api.ToolCallFunction',
      fields: { index: { kind: 'int' }, name: str, arguments: anyValue },
    },
  },
};

/** `api.Message` lowercases `role` in its own UnmarshalJSON, so its errors abort decoding at once. */
const message: GoType & { kind: 'struct' } = {
  kind: 'struct',
  name: 'Message',
  goName: 'api.Message',
  unmarshaler: true,
  fields: {
    role: str,
    content: str,
    thinking: str,
    images: imageData,
    tool_calls: { kind: 'slice', name: '[]api.ToolCall', of: toolCall },
    tool_name: str,
    tool_call_id: str,
  },
};

const tool: GoType = {
  kind: 'struct',
  name: 'Tool',
  goName: 'api.Tool',
  fields: {
    type: str,
    items: anyValue,
    function: {
      kind: 'struct',
      name: 'ToolFunction',
      goName: 'api.ToolFunction',
      fields: {
        name: str,
        description: str,
        parameters: { kind: 'map', name: 'api.ToolFunctionParameters' },
      },
    },
  },
};

export type StructType = GoType & { kind: 'struct' };

export type RequestKind = 'generate' | 'chat' | 'embed' | 'embeddings' | 'pull' | 'delete' | 'show' | 'copy';

/** `api.Duration.UnmarshalJSON` and `api.ThinkValue.UnmarshalJSON`: their errors abort decoding at once. */
const custom: { keepAlive: GoType; think: GoType } = {
  keepAlive: {
    kind: 'custom',
    check: (value: unknown): void => {
      parseApiKeepAlive(value);
    },
  },
  think: {
    kind: 'custom',
    check: (value: unknown): void => {
      if (typeof value === 'boolean') {
        return;
      }
      if (typeof value === 'string') {
        if (!['high', 'medium', 'low', 'max'].includes(value)) {
          throw new GoError(
            `invalid think value: ${JSON.stringify(value)} (must be "high", "medium", "low", "max", true, or false)`,
          );
        }
        return;
      }
      throw new GoError('think must be a boolean or string ("high", "medium", "low", "max", true, or false)');
    },
  },
};

/** The request struct shapes of the native API. */
export function requestTypes(): Record<RequestKind, StructType> {
  return {
    generate: {
      kind: 'struct',
      name: 'GenerateRequest',
      goName: 'api.GenerateRequest',
      fields: {
        model: str,
        prompt: str,
        suffix: str,
        system: str,
        template: str,
        context: { kind: 'slice', name: '[]int', of: { kind: 'int' } },
        stream: bool,
        raw: bool,
        format: anyValue,
        keep_alive: custom.keepAlive,
        images: imageData,
        options,
        think: custom.think,
        truncate: bool,
        shift: bool,
        logprobs: bool,
        top_logprobs: { kind: 'int' },
      },
    },
    chat: {
      kind: 'struct',
      name: 'ChatRequest',
      goName: 'api.ChatRequest',
      fields: {
        model: str,
        messages: { kind: 'slice', name: '[]api.Message', of: message },
        stream: bool,
        format: anyValue,
        keep_alive: custom.keepAlive,
        tools: { kind: 'slice', name: 'api.Tools', of: tool },
        options,
        think: custom.think,
        truncate: bool,
        shift: bool,
        logprobs: bool,
        top_logprobs: { kind: 'int' },
      },
    },
    embed: {
      kind: 'struct',
      name: 'EmbedRequest',
      goName: 'api.EmbedRequest',
      fields: {
        model: str,
        input: anyValue,
        keep_alive: custom.keepAlive,
        truncate: bool,
        dimensions: { kind: 'int' },
        options,
      },
    },
    embeddings: {
      kind: 'struct',
      name: 'EmbeddingRequest',
      goName: 'api.EmbeddingRequest',
      fields: { model: str, prompt: str, keep_alive: custom.keepAlive, options },
    },
    pull: {
      kind: 'struct',
      name: 'PullRequest',
      goName: 'api.PullRequest',
      fields: { model: str, name: str, insecure: bool, username: str, password: str, stream: bool },
    },
    delete: {
      kind: 'struct',
      name: 'DeleteRequest',
      goName: 'api.DeleteRequest',
      fields: { model: str, name: str },
    },
    show: {
      kind: 'struct',
      name: 'ShowRequest',
      goName: 'api.ShowRequest',
      fields: { model: str, name: str, system: str, template: str, verbose: bool, options },
    },
    copy: {
      kind: 'struct',
      name: 'CopyRequest',
      goName: 'api.CopyRequest',
      fields: { source: str, destination: str },
    },
  };
}
