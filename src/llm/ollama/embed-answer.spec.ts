import { readEmbedAnswer } from './embed-answer';
import { OllamaClientError } from './ollama-client.errors';

function read(text: string) {
  return readEmbedAnswer(Buffer.from(text, 'utf8'));
}

function refusal(text: string): unknown {
  try {
    read(text);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe(readEmbedAnswer.name, () => {
  it('keeps each vector’s text as Ollama wrote it, and reads the token count', () => {
    const answer = read(
      '{"model":"nomic-embed-text:latest","embeddings":[[0.002319141,-0.0066682864,1e-7],[-0,1.5E+2,3]],' +
        '"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}',
    );
    expect(answer.vectors.length).toBe(2);
    expect(answer.vectors.json(0).toString()).toBe('[0.002319141,-0.0066682864,1e-7]');
    expect(answer.vectors.json(1).toString()).toBe('[-0,1.5E+2,3]');
    expect(answer.vectors.values(0)).toEqual([0.002319141, -0.0066682864, 1e-7]);
    expect(answer.vectors.values(1)).toEqual([-0, 150, 3]);
    expect(answer.promptTokens).toBe(8);
  });

  it('finds the vectors among members in any order, with whitespace, and strings or objects that look like them', () => {
    const answer = read(
      ' {\n  "note": "\\"embeddings\\":[[9]] ] } [ ü€",\n  "nested": {"embeddings": [[7]], "list": [1, {"a": "]"}]},\n' +
        '  "flag": true, "none": null,\n  "embeddings" : [ [ 1 , -2.5 ] ,\n [3] ] ,\n  "prompt_eval_count" : 4\n}\n',
    );
    expect(answer.vectors.toJSON()).toEqual([[1, -2.5], [3]]);
    expect(answer.vectors.json(0).toString()).toBe('[ 1 , -2.5 ]');
    expect(answer.promptTokens).toBe(4);
  });

  it('answers no vectors for an empty list, and no tokens when the count is missing or not a number', () => {
    expect(read('{"embeddings":[]}')).toMatchObject({ promptTokens: 0 });
    expect(read('{"embeddings":[]}').vectors.length).toBe(0);
    expect(read('{"embeddings":[[]],"prompt_eval_count":"8"}').promptTokens).toBe(0);
    expect(read('{"embeddings":[[]]}').vectors.values(0)).toEqual([]);
  });

  it('reads the same numbers JSON.parse does, for a batch of 2 048 vectors of 768 dimensions', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const vectors = Array.from({ length: 2048 }, () =>
      Array.from({ length: 768 }, () => Math.fround((random() - 0.5) * 10 ** -Math.floor(random() * 9))),
    );
    const text = JSON.stringify({ model: 'm', embeddings: vectors, prompt_eval_count: 2048 });
    const answer = read(text);
    expect(answer.vectors.length).toBe(2048);
    expect(answer.vectors.toJSON()).toEqual(vectors);
    expect(answer.vectors.json(2047).toString()).toBe(JSON.stringify(vectors[2047]));
  });

  it.each([
    ['plain text', '404 page not found'],
    ['a truncated answer', '{"embeddings":[[0.1,0.2]],"prompt_eval_count":8'],
    ['something after the object', '{"embeddings":[[0.1]]} {}'],
    ['a broken member elsewhere', '{"model":"m" "embeddings":[[0.1]]}'],
    ['a broken string elsewhere', '{"model":"\\x","embeddings":[[0.1]]}'],
    ['an array', '[[0.1]]'],
  ])('refuses %s as not JSON', (_, text) => {
    expect(refusal(text)).toEqual(
      new OllamaClientError('protocol', 'Ollama answered /api/embed with something that is not JSON'),
    );
  });

  it.each([
    ['null', 'null'],
    ['a vector of strings', '[["0.1"]]'],
    ['a number outside a vector', '[0.1]'],
    ['a nested vector', '[[[0.1]]]'],
    ['NaN', '[[NaN]]'],
    ['Infinity', '[[1,Infinity]]'],
    ['a number with a trailing point', '[[1.]]'],
    ['a number with a leading zero', '[[01]]'],
    ['a number with a leading plus', '[[+1]]'],
    ['a missing comma', '[[1 2]]'],
    ['a trailing comma', '[[1,2,]]'],
    ['a trailing comma between vectors', '[[1],]'],
    ['an object', '{"0":[1]}'],
    ['a vector cut short', '[[0.1,0.2'],
  ])('refuses embeddings holding %s', (_, embeddings) => {
    const error = refusal(`{"embeddings":${embeddings},"prompt_eval_count":1}`);
    expect(error).toBeInstanceOf(OllamaClientError);
    expect(error).toMatchObject({ kind: 'protocol' });
  });

  it('refuses an answer without embeddings, or with two of them', () => {
    expect(refusal('{"model":"m","prompt_eval_count":1}')).toEqual(
      new OllamaClientError('protocol', 'Ollama answered /api/embed without embeddings'),
    );
    expect(refusal('{"embeddings":[[1]],"embeddings":[[2]]}')).toEqual(
      new OllamaClientError('protocol', 'Ollama answered /api/embed with two embeddings members'),
    );
  });
});
