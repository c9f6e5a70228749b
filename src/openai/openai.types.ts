import type { OpenAiErrorBody } from './openai-error';

/** OpenAI's wire objects, as far as this server produces them. */

export type FinishReason = 'stop' | 'length' | 'tool_calls';

/** A call the model made; `arguments` is a JSON string, as OpenAI sends it. */
export interface ChatCompletionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A tool call in a stream: all of it in one delta, as the model gives its calls whole. */
export interface ChatCompletionToolCallDelta extends ChatCompletionToolCall {
  index: number;
}

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
    /** `content` is null when the model only called tools. */
    message: { role: 'assistant'; content: string | null; refusal: null; tool_calls?: ChatCompletionToolCall[] };
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
    delta: { role?: 'assistant'; content?: string; tool_calls?: ChatCompletionToolCallDelta[] };
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

export interface Embedding {
  object: 'embedding';
  index: number;
  /** Floats, or with `encoding_format: "base64"` the base64 of their float32 little-endian bytes. */
  embedding: number[] | string;
}

export interface EmbeddingList {
  object: 'list';
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
