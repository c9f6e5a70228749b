import { MAX_EMBEDDING_INPUTS, parseEmbeddingsRequest, toLlmEmbedRequest } from './embeddings-request';
import { OpenAiRequestError } from './openai-error';

const MODEL = 'nomic-embed-text:latest';

function refusalOf(body: unknown): OpenAiRequestError {
  try {
    parseEmbeddingsRequest(body);
  } catch (error) {
    if (error instanceof OpenAiRequestError) {
      return error;
    }
    throw error;
  }
  throw new Error('the request was accepted');
}

describe(parseEmbeddingsRequest.name, () => {
  it('takes one string as a list of one, as floats by default', () => {
    expect(parseEmbeddingsRequest({ model: MODEL, input: 'duration risk' })).toEqual({
      model: MODEL,
      input: ['duration risk'],
      encoding: 'float',
    });
  });

  it('takes strings, the encoding, dimensions, and ignores user', () => {
    expect(
      parseEmbeddingsRequest({
        model: 'nomic-embed-text',
        input: ['a', 'b'],
        encoding_format: 'base64',
        dimensions: 256,
        user: 'analyst-7',
      }),
    ).toEqual({ model: 'nomic-embed-text', input: ['a', 'b'], encoding: 'base64', dimensions: 256 });
  });

  it('treats null as not given', () => {
    expect(parseEmbeddingsRequest({ model: MODEL, input: 'x', encoding_format: null, dimensions: null })).toEqual({
      model: MODEL,
      input: ['x'],
      encoding: 'float',
    });
  });

  it(`accepts ${MAX_EMBEDDING_INPUTS} inputs`, () => {
    const input = Array.from({ length: MAX_EMBEDDING_INPUTS }, (_, index) => `text ${index}`);
    expect(parseEmbeddingsRequest({ model: MODEL, input }).input).toHaveLength(MAX_EMBEDDING_INPUTS);
  });

  it.each([
    ['a body that is not an object', 'text', null, 'invalid_body'],
    ['a missing model', { input: 'x' }, 'model', null],
    ['a missing input', { model: MODEL }, 'input', null],
    ['an empty string', { model: MODEL, input: '' }, 'input', 'invalid_value'],
    ['an empty array', { model: MODEL, input: [] }, 'input', 'invalid_value'],
    ['an empty string in the array', { model: MODEL, input: ['a', ''] }, 'input[1]', 'invalid_value'],
    [
      `more than ${MAX_EMBEDDING_INPUTS} inputs`,
      { model: MODEL, input: Array.from({ length: MAX_EMBEDDING_INPUTS + 1 }, () => 'x') },
      'input',
      'invalid_value',
    ],
    ['an array of tokens', { model: MODEL, input: [1234, 5678] }, 'input', 'unsupported_value'],
    ['arrays of tokens', { model: MODEL, input: [[1234], [5678]] }, 'input', 'unsupported_value'],
    ['an input that is a number', { model: MODEL, input: 42 }, 'input', 'invalid_type'],
    ['an object in the array', { model: MODEL, input: ['a', { text: 'b' }] }, 'input[1]', 'invalid_type'],
    ['dimensions of 0', { model: MODEL, input: 'x', dimensions: 0 }, 'dimensions', 'invalid_value'],
    ['negative dimensions', { model: MODEL, input: 'x', dimensions: -8 }, 'dimensions', 'invalid_value'],
    ['fractional dimensions', { model: MODEL, input: 'x', dimensions: 1.5 }, 'dimensions', 'invalid_type'],
    ['dimensions as a string', { model: MODEL, input: 'x', dimensions: '256' }, 'dimensions', 'invalid_type'],
    ['an unknown encoding', { model: MODEL, input: 'x', encoding_format: 'int8' }, 'encoding_format', 'invalid_value'],
    ['a field OpenAI does not know', { model: MODEL, input: 'x', truncate: false }, 'truncate', 'unknown_parameter'],
  ])('refuses %s with a 400 naming the field', (_case, body, param, code) => {
    const refusal = refusalOf(body);
    expect(refusal.status).toBe(400);
    expect(refusal.param).toBe(param);
    expect(refusal.code).toBe(code);
  });

  it('says why token arrays are refused and what to send instead', () => {
    expect(refusalOf({ model: MODEL, input: [[1, 2]] }).message).toMatch(
      /token arrays .* string or an array of strings/,
    );
  });
});

describe(toLlmEmbedRequest.name, () => {
  it('asks the served model for every input, with the dimensions when given', () => {
    expect(toLlmEmbedRequest({ model: 'nomic', input: ['a'], encoding: 'float' }, MODEL)).toEqual({
      model: MODEL,
      input: ['a'],
    });
    expect(toLlmEmbedRequest({ model: 'nomic', input: ['a'], encoding: 'base64', dimensions: 64 }, MODEL)).toEqual({
      model: MODEL,
      input: ['a'],
      dimensions: 64,
    });
  });
});
