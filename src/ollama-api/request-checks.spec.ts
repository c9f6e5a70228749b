import { formatProblem, optionTypeProblem } from './request-checks';

describe(formatProblem.name, () => {
  it.each([undefined, null, '', 'json', { type: 'object', properties: {} }])('accepts %j', (format) => {
    expect(formatProblem({ format })).toBeUndefined();
  });

  it.each<[unknown, string]>([
    ['xml', 'invalid format: "\\"xml\\""; expected "json" or a valid JSON Schema object'],
    [0, 'invalid format: "0"; expected "json" or a valid JSON Schema object'],
    [['x'], 'invalid format: "[\\"x\\"]"; expected "json" or a valid JSON Schema object'],
  ])("refuses %j in Ollama's words", (format, message) => {
    expect(formatProblem({ format })).toBe(message);
  });
});

describe(optionTypeProblem.name, () => {
  it('accepts options of the right types, null ones and unknown ones', () => {
    expect(
      optionTypeProblem({ temperature: 0.2, seed: 7, stop: ['\n'], use_mmap: true, mirostat: 'x', top_k: null }),
    ).toBeUndefined();
  });

  it.each<[Record<string, unknown>, string]>([
    [{ temperature: 'hot' }, 'option "temperature" must be of type float32'],
    [{ seed: '7' }, 'option "seed" must be of type int'],
    [{ stop: 'end' }, 'option "stop" must be of type []string'],
    [{ stop: ['end', 1] }, 'option "stop" must be of type []string'],
    [{ use_mmap: 1 }, 'option "use_mmap" must be of type bool'],
  ])("refuses %j in Ollama's words", (options, message) => {
    expect(optionTypeProblem(options)).toBe(message);
  });
});
