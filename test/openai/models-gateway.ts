import OpenAI from 'openai';
import { Gateway, MODEL, startGateway } from './gateway';

/** Served besides MODEL (`llama3.1:latest`, completion and tools): one of each other kind. */
export const TOOLS_MODEL = 'qwen2.5:7b';
export const VISION_MODEL = 'llava:latest';
export const EMBEDDING_MODEL = 'nomic-embed-text:latest';
/** nomic-embed-text's vector length. */
export const EMBEDDING_DIMENSIONS = 768;
export { MODEL };

export const API_KEY = 'openai-models-key-0123456789';

/**
 * The gateway serving a tools model, a vision model and an embedding model besides MODEL, in front of
 * an emulator that has only MODEL at first: the gateway pulls the others (OLLAMA_AUTO_PULL), reads their
 * capabilities from `/api/show` and warms them, as it would with a real Ollama.
 */
export function startModelsGateway(env: Record<string, string> = {}): Promise<Gateway> {
  return startGateway({
    API_KEYS: API_KEY,
    OLLAMA_MODELS: [TOOLS_MODEL, VISION_MODEL, EMBEDDING_MODEL].join(','),
    OLLAMA_AUTO_PULL: 'true',
    ...env,
  });
}

/** The official client, without retries: each test sees exactly the answer the gateway gave. */
export function openAiClient(gateway: Gateway, apiKey = API_KEY): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: 30_000 });
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('the call succeeded');
}

/** The body of the newest native chat request the gateway sent to Ollama for `model`. */
export function lastChatBody(gateway: Gateway, model: string): Record<string, unknown> {
  const record = gateway.emulator.lastRequest({ endpoint: 'chat', model });
  if (record === undefined) {
    throw new Error(`Ollama received no chat request for ${model}`);
  }
  return record.body as Record<string, unknown>;
}

/**
 * Reads a streamed completion until its first text arrives, then aborts it as a client that goes away
 * would; resolves with the text received (the SDK's abort error is the expected end).
 */
export async function abortAfterFirstText(
  stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>,
  controller: AbortController,
): Promise<string> {
  let received = '';
  try {
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received !== '') {
        controller.abort();
      }
    }
  } catch (error) {
    if (!(error instanceof OpenAI.APIUserAbortError)) {
      throw error;
    }
  }
  return received;
}
