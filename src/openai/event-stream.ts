import type { ChatCompletionStreamEvent } from './openai.types';

/** OpenAI's framing: one unnamed event per object, and the bare `[DONE]` sentinel at the end. */
export function formatEvent(event: ChatCompletionStreamEvent): string {
  return `data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`;
}
