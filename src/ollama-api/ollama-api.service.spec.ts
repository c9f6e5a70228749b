import { BadGatewayError, InvalidRequestError } from '../common/errors';
import type { OllamaConfig } from '../config/configuration';
import { parseKeepAlive } from '../config/duration';
import { FakeLlm } from '../../test/support/fake-llm';
import { OllamaModelNotFoundError } from './ollama-api.errors';
import { OllamaApiService } from './ollama-api.service';

const SERVED = [
  { name: 'llama3.1:latest', capabilities: ['completion', 'tools'] },
  { name: 'nomic-embed-text:latest', capabilities: ['embedding'] },
];

function psAnswer(models: Array<{ name: string; context_length?: number }>): string {
  return JSON.stringify({ models: models.map((model) => ({ ...model, model: model.name, size: 1 })) });
}

async function text(body: AsyncIterable<Buffer>): Promise<string> {
  let all = '';
  for await (const chunk of body) {
    all += chunk.toString('utf8');
  }
  return all;
}

describe(OllamaApiService.name, () => {
  let llm: FakeLlm;
  let service: OllamaApiService;
  const signal = new AbortController().signal;
  const caller = { signal, requestId: 'req-1' };

  beforeEach(() => {
    llm = new FakeLlm(SERVED);
    const config = { keepAlive: parseKeepAlive('20m') } as OllamaConfig;
    service = new OllamaApiService(llm, config);
    llm.forwardAnswers.set('/api/chat', {
      status: 200,
      contentType: 'application/x-ndjson',
      chunks: ['{"done":false}\n', '{"done":true}\n'],
    });
  });

  describe('infer', () => {
    it('relays the body with the served model’s configured name and the gateway’s keep_alive', async () => {
      const answer = await service.infer(
        '/api/chat',
        { model: 'llama3.1', messages: [{ role: 'user', content: 'hi' }], keep_alive: 0, think: false },
        caller,
      );
      expect(await text(answer.body)).toBe('{"done":false}\n{"done":true}\n');
      expect(llm.forwardCalls).toEqual([
        {
          request: {
            model: 'llama3.1:latest',
            method: 'POST',
            path: '/api/chat',
            body: {
              model: 'llama3.1:latest',
              messages: [{ role: 'user', content: 'hi' }],
              keep_alive: '20m',
              think: false,
            },
          },
          options: { signal, endpoint: 'ollama', requestId: 'req-1' },
        },
      ]);
    });

    it('adds keep_alive when the client sent none', async () => {
      await service.infer('/api/generate', { model: 'llama3.1:latest', prompt: 'x' }, caller);
      expect(llm.forwardCalls[0].request.body).toEqual({ model: 'llama3.1:latest', prompt: 'x', keep_alive: '20m' });
    });

    it('refuses a model that is not served with Ollama’s 404, without calling Ollama', async () => {
      const refusal = service.infer('/api/chat', { model: 'mistral', messages: [] }, caller);
      await expect(refusal).rejects.toThrow(OllamaModelNotFoundError);
      await expect(refusal).rejects.toThrow("model 'mistral' not found");
      expect(llm.forwardCalls).toEqual([]);
    });

    it.each([[{}], [{ model: '' }], [{ model: null }]])('refuses %j: model is required', async (body) => {
      await expect(service.infer('/api/chat', body, caller)).rejects.toThrow(
        new InvalidRequestError('model is required'),
      );
    });

    it('refuses a model that is not a string', async () => {
      await expect(service.infer('/api/embed', { model: 3 }, caller)).rejects.toThrow(/model must be a string/);
    });

    it.each([
      [undefined, 'missing request body'],
      [[1], 'request body must be a JSON object'],
      ['x', 'request body must be a JSON object'],
    ])('refuses the body %j', async (body, message) => {
      await expect(service.infer('/api/chat', body, caller)).rejects.toThrow(new InvalidRequestError(message));
    });

    it('refuses a reloading option without asking Ollama anything', async () => {
      await expect(
        service.infer('/api/embed', { model: 'nomic-embed-text', input: 'x', options: { num_gpu: 0 } }, caller),
      ).rejects.toThrow(/^options\.num_gpu is not accepted here/);
      expect(llm.forwardCalls).toEqual([]);
    });

    it('lets num_ctx through when it equals the loaded context length, read from /api/ps', async () => {
      llm.forwardAnswers.set('/api/ps', {
        status: 200,
        chunks: [psAnswer([{ name: 'llama3.1:latest', context_length: 4096 }])],
      });
      await service.infer('/api/chat', { model: 'llama3.1', options: { num_ctx: 4096, temperature: 0 } }, caller);
      expect(llm.forwardCalls.map((call) => [call.request.method, call.request.path, call.request.model])).toEqual([
        ['GET', '/api/ps', undefined],
        ['POST', '/api/chat', 'llama3.1:latest'],
      ]);
      expect(llm.forwardCalls[1].request.body).toMatchObject({ options: { num_ctx: 4096, temperature: 0 } });
    });

    it('refuses another num_ctx, naming the one that would pass', async () => {
      llm.forwardAnswers.set('/api/ps', {
        status: 200,
        chunks: [psAnswer([{ name: 'llama3.1:latest', context_length: 4096 }])],
      });
      await expect(
        service.infer('/api/chat', { model: 'llama3.1', options: { num_ctx: 2048 } }, caller),
      ).rejects.toThrow(
        /^options\.num_ctx 2048 differs from the context length llama3\.1:latest is loaded with \(4096\)/,
      );
      expect(llm.forwardCalls.map((call) => call.request.path)).toEqual(['/api/ps']);
    });

    it('refuses num_ctx for a model that is not loaded', async () => {
      llm.forwardAnswers.set('/api/ps', { status: 200, chunks: [psAnswer([])] });
      await expect(
        service.infer('/api/generate', { model: 'llama3.1', options: { num_ctx: 4096 } }, caller),
      ).rejects.toThrow(/is not loaded/);
    });
  });

  describe('show', () => {
    it('relays a served model’s details, by model or by its deprecated alias name', async () => {
      llm.forwardAnswers.set('/api/show', { status: 200, chunks: ['{"capabilities":["embedding"]}'] });
      const answer = await service.show({ name: 'nomic-embed-text', verbose: true }, caller);
      expect(await text(answer.body)).toBe('{"capabilities":["embedding"]}');
      expect(llm.forwardCalls[0].request).toEqual({
        method: 'POST',
        path: '/api/show',
        body: { name: 'nomic-embed-text', verbose: true, model: 'nomic-embed-text:latest' },
      });
    });

    it('refuses a model that is not served, and a request without one', async () => {
      await expect(service.show({ model: 'mistral' }, caller)).rejects.toThrow("model 'mistral' not found");
      await expect(service.show({ verbose: true }, caller)).rejects.toThrow('model is required');
      expect(llm.forwardCalls).toEqual([]);
    });
  });

  describe('list', () => {
    it('answers /api/tags with the served models only', async () => {
      llm.forwardAnswers.set('/api/tags', {
        status: 200,
        chunks: ['{"models":[{"name":"mistral:latest"},', '{"name":"llama3.1:latest"}]}'],
      });
      await expect(service.list('/api/tags', caller)).resolves.toEqual({ models: [{ name: 'llama3.1:latest' }] });
      expect(llm.forwardCalls[0].request).toEqual({ method: 'GET', path: '/api/tags' });
    });

    it('answers 502 when Ollama’s answer is not a list', async () => {
      llm.forwardAnswers.set('/api/ps', { status: 200, chunks: ['{"loaded":[]}'] });
      await expect(service.list('/api/ps', caller)).rejects.toThrow(BadGatewayError);
      llm.forwardAnswers.set('/api/ps', { status: 200, chunks: ['<html>'] });
      await expect(service.list('/api/ps', caller)).rejects.toThrow(/not JSON/);
      llm.forwardAnswers.set('/api/ps', { status: 405, chunks: ['405 method not allowed'] });
      await expect(service.list('/api/ps', caller)).rejects.toThrow('Ollama answered /api/ps with HTTP 405');
    });
  });
});
