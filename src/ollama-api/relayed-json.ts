import { BadGatewayError } from '../common/errors';
import type { LlmForwardResponse } from '../llm/llm.types';

/** Far above any list or version answer Ollama writes; a larger one is not worth holding in memory. */
const JSON_ANSWER_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * The JSON of a control answer the gateway must read rather than relay (a list it filters).
 * @throws BadGatewayError (502) when Ollama answered with another status than 200, with something
 * that is not JSON, or with more than the limit.
 */
export async function readJsonAnswer(answer: LlmForwardResponse, path: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of answer.body) {
    size += chunk.length;
    if (size > JSON_ANSWER_LIMIT_BYTES) {
      throw new BadGatewayError(`Ollama's answer to ${path} is larger than ${JSON_ANSWER_LIMIT_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (answer.status !== 200) {
    throw new BadGatewayError(`Ollama answered ${path} with HTTP ${answer.status}`);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BadGatewayError(`Ollama answered ${path} with something that is not JSON`);
  }
}
