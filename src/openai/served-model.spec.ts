import { FakeLlm } from '../../test/support/fake-llm';
import { OpenAiRequestError } from './openai-error';
import { MODEL_OWNER, ServedModels } from './served-model';

function served(...names: string[]): ServedModels {
  return new ServedModels(new FakeLlm(names.map((name) => ({ name, capabilities: ['completion'] }))));
}

describe(ServedModels.name, () => {
  it('resolves a served model by its name with and without :latest, to the configured name', () => {
    const models = served('llama3.1:latest', 'qwen2.5:7b', 'localhost:5000/team/model');
    expect(models.resolve('llama3.1')).toBe('llama3.1:latest');
    expect(models.resolve('llama3.1:latest')).toBe('llama3.1:latest');
    expect(models.resolve('qwen2.5:7b')).toBe('qwen2.5:7b');
    expect(models.resolve('localhost:5000/team/model:latest')).toBe('localhost:5000/team/model');
  });

  it('refuses other models, other tags and other spellings with 404 model_not_found', () => {
    const models = served('llama3.1:latest', 'qwen2.5:7b');
    for (const name of ['gpt-4o', 'llama3.1:8b', 'Llama3.1', 'qwen2.5']) {
      let refusal: unknown;
      try {
        models.resolve(name);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(OpenAiRequestError);
      expect(refusal).toMatchObject({ status: 404, param: 'model', code: 'model_not_found' });
    }
  });

  it('lists every served model as an OpenAI model object, the default first', () => {
    const before = Math.floor(Date.now() / 1000);
    const list = served('llama3.1:latest', 'nomic-embed-text:latest').list();
    expect(list).toEqual([
      { id: 'llama3.1:latest', object: 'model', created: expect.any(Number), owned_by: MODEL_OWNER },
      { id: 'nomic-embed-text:latest', object: 'model', created: expect.any(Number), owned_by: MODEL_OWNER },
    ]);
    expect(list[0].created).toBeGreaterThanOrEqual(before);
    expect(list[0].created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('has a fingerprint that follows the model', () => {
    const models = served('llama3.1:latest', 'qwen2.5:latest');
    expect(models.fingerprint('llama3.1:latest')).toMatch(/^fp_[0-9a-f]{10}$/);
    expect(models.fingerprint('llama3.1:latest')).toBe(served('llama3.1:latest').fingerprint('llama3.1:latest'));
    expect(models.fingerprint('qwen2.5:latest')).not.toBe(models.fingerprint('llama3.1:latest'));
  });
});
