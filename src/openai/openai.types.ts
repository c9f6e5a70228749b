import type { OpenAiErrorBody } from './openai-error';

/** OpenAI's wire objects, as far as this server produces them. */

export type FinishReason = 'stop' | 'length';

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  /** Unix seconds. */
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: 0;
    message: { role: 'assistant'; content: string; refusal: null };
    finish_reason: FinishReason;
    logprobs: null;
  }>;
  usage: CompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    finish_reason: FinishReason | null;
    logprobs: null;
  }>;
  /** With `stream_options.include_usage`: `null` on every chunk but the last, which has no choices. */
  usage?: CompletionUsage | null;
}

/** What a streamed completion sends: chunks, then `[DONE]`, or an error in place of the rest. */
export type ChatCompletionStreamEvent = ChatCompletionChunk | OpenAiErrorBody | '[DONE]';

export interface OpenAiModel {
  id: string;
  object: 'model';
  /** Unix seconds. */
  created: number;
  owned_by: string;
}

export interface OpenAiModelList {
  object: 'list';
  data: OpenAiModel[];
}
