import type { OllamaConfig } from '../config/configuration';
import { OpenAiRequestError } from './openai-error';
import { MODEL_OWNER, ServedModel, modelAliases } from './served-model';

function served(model: string): ServedModel {
  return new ServedModel({ model } as OllamaConfig);
}

describe(ServedModel.name, () => {
  it('knows a model by its name with and without :latest', () => {
    expect([...modelAliases('llama3.1:latest')].sort()).toEqual(['llama3.1', 'llama3.1:latest']);
    expect([...modelAliases('llama3.1')].sort()).toEqual(['llama3.1', 'llama3.1:latest']);
  });

  it('adds no alias to a model with another tag', () => {
    expect([...modelAliases('llama3.1:8b')]).toEqual(['llama3.1:8b']);
  });

  it('adds :latest to the last path segment only, not after a registry port', () => {
    expect([...modelAliases('localhost:5000/team/model')].sort()).toEqual([
      'localhost:5000/team/model',
      'localhost:5000/team/model:latest',
    ]);
  });

  it('serves its aliases and refuses other models with 404 model_not_found', () => {
    const model = served('llama3.1:latest');
    expect(model.isServed('llama3.1')).toBe(true);
    expect(model.isServed('llama3.1:latest')).toBe(true);
    expect(model.isServed('llama3.1:8b')).toBe(false);
    expect(model.isServed('Llama3.1')).toBe(false);
    expect(() => model.assertServed('llama3.1')).not.toThrow();
    let refusal: unknown;
    try {
      model.assertServed('gpt-4o');
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(OpenAiRequestError);
    expect(refusal).toMatchObject({ status: 404, param: 'model', code: 'model_not_found' });
  });

  it('describes itself as an OpenAI model object', () => {
    const before = Math.floor(Date.now() / 1000);
    const model = served('llama3.1:latest').toOpenAiModel();
    expect(model).toEqual({
      id: 'llama3.1:latest',
      object: 'model',
      created: expect.any(Number),
      owned_by: MODEL_OWNER,
    });
    expect(model.created).toBeGreaterThanOrEqual(before);
    expect(model.created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('has a fingerprint that follows the model', () => {
    expect(served('llama3.1:latest').fingerprint).toMatch(/^fp_[0-9a-f]{10}$/);
    expect(served('llama3.1:latest').fingerprint).toBe(served('llama3.1:latest').fingerprint);
    expect(served('qwen2.5:latest').fingerprint).not.toBe(served('llama3.1:latest').fingerprint);
  });
});
