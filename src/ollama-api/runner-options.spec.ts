import { contextLengthProblem, optionsProblem, RELOADING_OPTIONS, requestedContextLength } from './runner-options';

describe(optionsProblem.name, () => {
  it('accepts a request without options, or with sampling options only', () => {
    expect(optionsProblem({ model: 'm' })).toBeUndefined();
    expect(optionsProblem({ model: 'm', options: null })).toBeUndefined();
    expect(
      optionsProblem({ options: { temperature: 0.2, top_p: 0.9, num_predict: 50, seed: 7, stop: ['\n'] } }),
    ).toBeUndefined();
  });

  it.each(['num_batch', 'num_gpu', 'main_gpu', 'use_mmap', 'num_thread'])('refuses %s, naming it and why', (name) => {
    const problem = optionsProblem({ options: { temperature: 0.1, [name]: 1 } });
    expect(problem).toMatch(new RegExp(`^options\\.${name} is not accepted here`));
    expect(problem).toMatch(/reload the model/);
    expect(problem).toMatch(new RegExp(`send the request without ${name}$`));
  });

  it('refuses a reloading option whatever its value, false and 0 included', () => {
    expect(optionsProblem({ options: { use_mmap: false } })).toMatch(/^options\.use_mmap/);
    expect(optionsProblem({ options: { num_thread: 0 } })).toMatch(/^options\.num_thread/);
  });

  it('reads a null option as not set, as Ollama does', () => {
    expect(optionsProblem({ options: { num_batch: null, num_ctx: null } })).toBeUndefined();
  });

  it('leaves num_ctx to the context length check when it is a positive integer', () => {
    expect(optionsProblem({ options: { num_ctx: 4096 } })).toBeUndefined();
  });

  it.each([['big'], [0], [-1], [4096.5], [[4096]]])('refuses num_ctx %j', (numCtx) => {
    expect(optionsProblem({ options: { num_ctx: numCtx } })).toBe('options.num_ctx must be a positive integer');
  });

  it.each([['fast'], [[1, 2]], [3]])('refuses options that are not an object (%j)', (options) => {
    expect(optionsProblem({ options })).toMatch(/^options must be an object/);
  });

  it('covers every option that makes Ollama reload the model', () => {
    expect([...RELOADING_OPTIONS].sort()).toEqual(
      ['main_gpu', 'num_batch', 'num_ctx', 'num_gpu', 'num_thread', 'use_mmap'].sort(),
    );
  });
});

describe(requestedContextLength.name, () => {
  it('gives the num_ctx of the options, if any', () => {
    expect(requestedContextLength({ options: { num_ctx: 8192 } })).toBe(8192);
    expect(requestedContextLength({ options: { temperature: 1 } })).toBeUndefined();
    expect(requestedContextLength({})).toBeUndefined();
  });
});

describe(contextLengthProblem.name, () => {
  it('lets through the context length the model is loaded with', () => {
    expect(contextLengthProblem(4096, 'llama3.1:latest', 4096)).toBeUndefined();
  });

  it('refuses another one, saying which one would pass', () => {
    expect(contextLengthProblem(8192, 'llama3.1:latest', 4096)).toBe(
      'options.num_ctx 8192 differs from the context length llama3.1:latest is loaded with (4096), and would ' +
        'make Ollama reload the model; send num_ctx 4096 or none',
    );
  });

  it('refuses one that cannot be compared because the model is not loaded', () => {
    expect(contextLengthProblem(4096, 'llama3.1:latest', undefined)).toMatch(
      /^options\.num_ctx cannot be checked now: llama3\.1:latest is not loaded.*without num_ctx$/,
    );
  });
});
