import { PNG_BASE64 } from '../../test/openai/images';
import { parseChatCompletionRequest } from './chat-completion-request';
import { parseEmbeddingsRequest } from './embeddings-request';
import { OpenAiRequestError } from './openai-error';

/*
 * Every body a client can send is either accepted or refused with OpenAiRequestError (a 400 that names
 * the field); anything else thrown would be a 500. Bodies are valid ones with one value replaced by
 * junk at a random place, from a fixed seed so that a failure can be replayed.
 */

const CASES = 3000;

class Prng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state * 1_103_515_245 + 12_345) % 2 ** 31;
    return this.state / 2 ** 31;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

function junk(rng: Prng, depth = 0): unknown {
  const scalars: unknown[] = [
    null,
    undefined,
    true,
    0,
    -1,
    1.5,
    1e308,
    '',
    ' ',
    'function',
    'object',
    'required',
    '{',
    '{}',
    '[]',
    'null',
    `data:image/png;base64,${PNG_BASE64}`,
    'data:image/png;base64,@@@@',
    'https://example.com/a.png',
    '__proto__',
  ];
  if (depth > 2 || rng.next() < 0.6) {
    return rng.pick(scalars);
  }
  if (rng.next() < 0.5) {
    return Array.from({ length: rng.int(3) }, () => junk(rng, depth + 1));
  }
  const keys = [
    'type',
    'function',
    'name',
    'arguments',
    'parameters',
    'url',
    'image_url',
    'id',
    'required',
    'properties',
  ];
  return Object.fromEntries(Array.from({ length: rng.int(3) }, () => [rng.pick(keys), junk(rng, depth + 1)]));
}

/** Replaces one value somewhere inside `body` (objects and arrays alike) with junk. */
function mutate(body: unknown, rng: Prng): unknown {
  if (typeof body !== 'object' || body === null || rng.next() < 0.25) {
    return junk(rng);
  }
  const copy: Record<string, unknown> | unknown[] = Array.isArray(body) ? [...body] : { ...body };
  const keys = Object.keys(copy);
  if (keys.length === 0) {
    return junk(rng);
  }
  const key = rng.pick(keys);
  (copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], rng);
  return copy;
}

const TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const CHAT_BODIES: unknown[] = [
  {
    model: 'm',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: '21' },
    ],
    tools: [TOOL],
    tool_choice: 'auto',
    parallel_tool_calls: false,
  },
  {
    model: 'm',
    messages: [{ role: 'user', content: 'Hi' }],
    tools: [TOOL, { ...TOOL, function: { ...TOOL.function, name: 'other' } }],
    tool_choice: { type: 'function', function: { name: 'other' } },
    stream: true,
  },
];

const EMBEDDING_BODIES: unknown[] = [
  { model: 'e', input: ['a', 'b'], encoding_format: 'base64', dimensions: 8 },
  { model: 'e', input: 'a' },
];

function outcome(parse: (body: unknown) => unknown, body: unknown): 'accepted' | 'refused' {
  try {
    parse(body);
    return 'accepted';
  } catch (error) {
    if (error instanceof OpenAiRequestError && error.status === 400) {
      return 'refused';
    }
    throw new Error(`${String(error)} for ${JSON.stringify(body)}`, { cause: error });
  }
}

describe('the OpenAI request parsers under junk', () => {
  it.each([
    ['chat completions', parseChatCompletionRequest, CHAT_BODIES, 7],
    ['embeddings', parseEmbeddingsRequest, EMBEDDING_BODIES, 11],
  ])('accept or refuse with a 400 every mutated %s body', (_name, parse, bodies, seed) => {
    const rng = new Prng(seed);
    for (const body of bodies) {
      expect(outcome(parse, body)).toBe('accepted');
    }
    const seen = new Set<string>();
    for (let index = 0; index < CASES; index++) {
      seen.add(outcome(parse, mutate(rng.pick(bodies), rng)));
    }
    // Both happen: the mutations are neither all harmless nor all fatal.
    expect([...seen].sort()).toEqual(['accepted', 'refused']);
  });
});
