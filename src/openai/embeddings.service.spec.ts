import { EmbeddingVectors } from '../llm/embedding-vectors';
import { ModelCapabilityError } from '../llm/models/model-errors';
import { FakeLlm } from '../../test/support/fake-llm';
import { float32Base64 } from './embedding-encoding';
import { EMBEDDINGS_METRICS_ENDPOINT, EmbeddingsService } from './embeddings.service';
import { OpenAiRequestError } from './openai-error';
import type { EmbeddingList } from './openai.types';
import { ServedModels } from './served-model';

const EMBEDDER = 'nomic-embed-text:latest';

function build(): { service: EmbeddingsService; llm: FakeLlm } {
  const llm = new FakeLlm([
    { name: 'llama3.1:latest', capabilities: ['completion', 'tools'] },
    { name: EMBEDDER, capabilities: ['embedding'] },
  ]);
  llm.embedResult = {
    model: EMBEDDER,
    embeddings: EmbeddingVectors.fromArrays([
      [0.6, 0.8],
      [1, 0],
    ]),
    promptTokens: 7,
  };
  return { service: new EmbeddingsService(llm, new ServedModels(llm)), llm };
}

function listOf(json: Buffer): EmbeddingList {
  return JSON.parse(json.toString('utf8')) as EmbeddingList;
}

describe(EmbeddingsService.name, () => {
  it('answers OpenAI’s list, one embedding per input in order, echoing the model as named', async () => {
    const { service, llm } = build();
    const signal = new AbortController().signal;
    const json = await service.embed(
      { model: 'nomic-embed-text', input: ['a', 'b'], encoding: 'float', dimensions: 2 },
      { signal, requestId: 'req-1' },
    );
    expect(listOf(json)).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.6, 0.8] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'nomic-embed-text',
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
    expect(llm.embedCalls).toEqual([
      {
        request: { model: EMBEDDER, input: ['a', 'b'], dimensions: 2 },
        options: { signal, endpoint: 'embeddings', requestId: 'req-1' },
      },
    ]);
    expect(EMBEDDINGS_METRICS_ENDPOINT).toBe('embeddings');
  });

  it('encodes each vector as base64 of float32 little-endian when asked', async () => {
    const { service } = build();
    const list = listOf(await service.embed({ model: EMBEDDER, input: ['a', 'b'], encoding: 'base64' }));
    expect(list.data.map((item) => item.embedding)).toEqual([float32Base64([0.6, 0.8]), float32Base64([1, 0])]);
  });

  it('copies each float vector as the text it came in, and writes the rest as JSON.stringify would', async () => {
    const { service, llm } = build();
    const text = '[1.5e-7,-0,0.30000001]';
    const vectors = EmbeddingVectors.fromCheckedText(Buffer.from(text), [0, text.length]);
    llm.embedResult = { model: EMBEDDER, embeddings: vectors, promptTokens: 3 };
    const answer = await service.embed({ model: EMBEDDER, input: ['a'], encoding: 'float' });
    expect(answer.toString('utf8')).toBe(
      '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1.5e-7,-0,0.30000001]}],' +
        '"model":"nomic-embed-text:latest","usage":{"prompt_tokens":3,"total_tokens":3}}',
    );
  });

  it('refuses a model that is not served with 404 without calling the model', async () => {
    const { service, llm } = build();
    await expect(service.embed({ model: 'text-embedding-3-small', input: ['a'], encoding: 'float' })).rejects.toEqual(
      OpenAiRequestError.modelNotFound('text-embedding-3-small'),
    );
    expect(llm.embedCalls).toHaveLength(0);
  });

  it('lets the port refuse a chat model, naming the capability', async () => {
    const { service } = build();
    const refusal = service.embed({ model: 'llama3.1', input: ['a'], encoding: 'float' });
    await expect(refusal).rejects.toBeInstanceOf(ModelCapabilityError);
    await expect(refusal).rejects.toThrow(/does not support embeddings/);
  });
});
