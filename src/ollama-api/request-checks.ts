/*
 * Mistakes in a request that Ollama itself answers with a 500, as if it had failed (CONTRACT §8 relays
 * Ollama's failures as 502 and counts them against the server's circuit breaker): caught here with the
 * 400 and the words Ollama would use, so that a client's typo never looks like a broken server.
 */

/** The type Ollama gives each model parameter (reference §2.10), in its own words. */
const OPTION_TYPES: Readonly<Record<string, 'int' | 'float32' | 'bool' | '[]string'>> = {
  num_ctx: 'int',
  num_batch: 'int',
  num_gpu: 'int',
  main_gpu: 'int',
  use_mmap: 'bool',
  num_thread: 'int',
  draft_num_predict: 'int',
  num_predict: 'int',
  num_keep: 'int',
  seed: 'int',
  top_k: 'int',
  repeat_last_n: 'int',
  temperature: 'float32',
  top_p: 'float32',
  min_p: 'float32',
  typical_p: 'float32',
  repeat_penalty: 'float32',
  presence_penalty: 'float32',
  frequency_penalty: 'float32',
  stop: '[]string',
};

function hasType(value: unknown, type: (typeof OPTION_TYPES)[string]): boolean {
  switch (type) {
    case 'int':
    case 'float32':
      // Go decodes a JSON number into either; a fraction for an int is truncated, not refused.
      return typeof value === 'number' && Number.isFinite(value);
    case 'bool':
      return typeof value === 'boolean';
    case '[]string':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
  }
}

/** Why an option has the wrong type, in Ollama's words (`option "temperature" must be of type float32`). */
export function optionTypeProblem(options: Record<string, unknown>): string | undefined {
  for (const [name, value] of Object.entries(options)) {
    const type = OPTION_TYPES[name];
    if (type !== undefined && value !== null && !hasType(value, type)) {
      return `option "${name}" must be of type ${type}`;
    }
  }
  return undefined;
}

/**
 * Why `format` is not one Ollama takes, in its words: absent, `null`, `""`, `"json"` or a JSON Schema
 * object are; anything else is refused.
 */
export function formatProblem(body: Record<string, unknown>): string | undefined {
  const { format } = body;
  if (format === undefined || format === null || format === '' || format === 'json') {
    return undefined;
  }
  if (typeof format === 'object' && !Array.isArray(format)) {
    return undefined;
  }
  return `invalid format: ${JSON.stringify(JSON.stringify(format))}; expected "json" or a valid JSON Schema object`;
}
