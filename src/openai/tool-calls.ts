import { randomHex } from '../common/random-hex';
import type { LlmToolCall } from '../llm/llm.types';
import type { ChatCompletionToolCall } from './openai.types';

/** OpenAI's call ids look like `call_` followed by random letters and digits. */
export function newToolCallId(): string {
  return `call_${randomHex(12)}`;
}

/** Ollama's call (arguments as an object) as OpenAI's: an id, `type: "function"`, arguments as a JSON string. */
export function toOpenAiToolCall({ name, arguments: args }: LlmToolCall): ChatCompletionToolCall {
  return { id: newToolCallId(), type: 'function', function: { name, arguments: JSON.stringify(args) } };
}
