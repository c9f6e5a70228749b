import { ModelCapabilityError } from '../llm/models/model-errors';
import { FakeLlm } from '../../test/support/fake-llm';
import { float32Base64 } from './embedding-encoding';
import { EMBEDDINGS_METRICS_ENDPOINT, EmbeddingsService } from './embeddings.service';
import { OpenAiRequestError } from './openai-error';
import { ServedModels } from './served-model';

const EMBEDDER = 'nomic-embed-text:latest';

function build(): { service: EmbeddingsService; llm: FakeLlm } {
  const llm = new FakeLlm([
    { name: 'llama3.1:latest', capabilities: ['completion', 'tools'] },
    { name: EMBEDDER, capabilities: ['embedding'] },
  ]);
  llm.embedResult = {
    model: EMBEDDER,
    embeddings: [
      [0.6, 0.8],
      [1, 0],
    ],
    promptTokens: 7,
  };
  return { service: new EmbeddingsService(llm, new ServedModels(llm)), llm };
}

describe(EmbeddingsService.name, () => {
  it('answers OpenAI’s list, one embedding per input in order, echoing the model as named', async () => {
    const { service, llm } = build();
    const signal = new AbortController().signal;
    const list = await service.embed(
      { model: 'nomic-embed-text', input: ['a', 'b'], encoding: 'float', dimensions: 2 },
      { signal, requestId: 'req-1' },
    );
    expect(list).toEqual({
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
    const list = await service.embed({ model: EMBEDDER, input: ['a', 'b'], encoding: 'base64' });
    expect(list.data.map((item) => item.embedding)).toEqual([float32Base64([0.6, 0.8]), float32Base64([1, 0])]);
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
