import type { EmbeddingVectors } from '../llm/embedding-vectors';
import { float32Base64 } from './embedding-encoding';
import type { EncodingFormat } from './embeddings-request';

const OPEN = Buffer.from('{"object":"list","data":[');
const CLOSE_ITEM = Buffer.from('}');

/**
 * OpenAI's embedding list (`EmbeddingList`) as the bytes of its JSON. A float vector is copied as
 * the text Ollama sent, without being parsed and written again; a base64 one is encoded from its numbers.
 */
export function embeddingListJson(
  vectors: EmbeddingVectors,
  encoding: EncodingFormat,
  model: string,
  promptTokens: number,
): Buffer {
  const parts: Buffer[] = [OPEN];
  for (let index = 0; index < vectors.length; index += 1) {
    parts.push(Buffer.from(`${index === 0 ? '' : ','}{"object":"embedding","index":${index},"embedding":`, 'latin1'));
    parts.push(
      encoding === 'base64' ? Buffer.from(`"${float32Base64(vectors.values(index))}"`, 'latin1') : vectors.json(index),
    );
    parts.push(CLOSE_ITEM);
  }
  const usage = { prompt_tokens: promptTokens, total_tokens: promptTokens };
  parts.push(Buffer.from(`],"model":${JSON.stringify(model)},"usage":${JSON.stringify(usage)}}`));
  return Buffer.concat(parts);
}
