import { internalsIn, openAiErrorProblem } from './support/error-body';
import { Prng, Raw, serialize } from './support/malformed-requests';
import { SecuredApp, startSecuredApp, waitFor } from './support/secured-app';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 1_200);
const CONCURRENCY = 8;
const API_KEY = 'fuzz-key-0123456789';
const CHAT_MODEL = 'llama3.1:latest';
const EMBEDDER = 'nomic-embed-text:latest';

type Json = Record<string, unknown>;

interface Route {
  path: string;
  shape: 'openai' | 'ollama';
  valid(rng: Prng): Json;
}

const ROUTES: readonly Route[] = [
  { path: '/v1/embeddings', shape: 'openai', valid: (rng) => ({ model: EMBEDDER, input: words(rng) }) },
  {
    path: '/v1/chat/completions',
    shape: 'openai',
    valid: (rng) => ({
      model: CHAT_MODEL,
      messages: [{ role: 'user', content: words(rng) }],
      tools: [{ type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }],
    }),
  },
  {
    path: '/api/chat',
    shape: 'ollama',
    valid: (rng) => ({ model: CHAT_MODEL, messages: [{ role: 'user', content: words(rng) }], stream: false }),
  },
  {
    path: '/api/generate',
    shape: 'ollama',
    valid: (rng) => ({ model: CHAT_MODEL, prompt: words(rng), stream: false }),
  },
  { path: '/api/embed', shape: 'ollama', valid: (rng) => ({ model: EMBEDDER, input: [words(rng)] }) },
  { path: '/api/embeddings', shape: 'ollama', valid: (rng) => ({ model: EMBEDDER, prompt: words(rng) }) },
  { path: '/api/show', shape: 'ollama', valid: () => ({ model: CHAT_MODEL }) },
];

function words(rng: Prng): string {
  return Array.from({ length: rng.int(1, 6) }, () =>
    rng.pick(['rate', 'risk', 'bond', 'yield', 'é', '日本', '\u0000']),
  ).join(' ');
}

/** A value of any JSON type, sometimes nested, sometimes extreme. */
function junk(rng: Prng, depth = 0): unknown {
  switch (rng.int(0, 9)) {
    case 0:
      return null;
    case 1:
      return rng.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53, new Raw('-0'), new Raw('1e400')]);
    case 2:
      return rng.pick(['', ' ', 'x'.repeat(rng.int(1, 70_000)), '\u0000', '{}', 'data:image/png;base64,@@@']);
    case 3:
      return rng.chance(0.5);
    case 4:
      return depth < 3 ? Array.from({ length: rng.int(0, 4) }, () => junk(rng, depth + 1)) : [];
    case 5:
      return depth < 3 ? { [rng.pick(['a', 'model', 'role', '__proto__x', ''])]: junk(rng, depth + 1) } : {};
    case 6:
      return Array.from({ length: rng.int(2_040, 2_060) }, () => 'x');
    case 7:
      return [[1, 2, 3]];
    case 8:
      return rng.pick(['mistral:7b', EMBEDDER, CHAT_MODEL, 'llama3.1']);
    default:
      return rng.pick([{ num_ctx: rng.int(1, 99_999) }, { num_gpu: 0 }, { temperature: 'hot' }, []]);
  }
}

const FIELDS = [
  'model',
  'messages',
  'input',
  'prompt',
  'options',
  'keep_alive',
  'tools',
  'tool_choice',
  'format',
  'images',
  'dimensions',
  'encoding_format',
  'stream',
  'messages.0.content',
  'messages.0.role',
  'messages.0.images',
];

function mutate(rng: Prng, body: Json): Json {
  const field = rng.pick(FIELDS);
  const [head, index, key] = field.split('.');
  if (key !== undefined) {
    const list = body[head];
    if (Array.isArray(list) && typeof list[Number(index)] === 'object' && list[Number(index)] !== null) {
      (list[Number(index)] as Json)[key] = junk(rng);
    }
    return body;
  }
  if (rng.chance(0.2)) {
    delete body[head];
  } else {
    body[head] = junk(rng);
  }
  return body;
}

function requestBody(rng: Prng, route: Route): string {
  const body = route.valid(rng);
  for (let count = rng.int(1, 3); count > 0; count--) {
    mutate(rng, body);
  }
  const text = serialize(body);
  switch (rng.int(0, 9)) {
    case 0:
      return text.slice(0, rng.int(0, text.length - 1));
    case 1:
      return serialize(rng.pick([[body], 'text', 42, null]));
    default:
      return text;
  }
}

/** Why an answer breaks the contract on its route, or `undefined` when it does not. */
function problemWith(route: Route, status: number, text: string): string | undefined {
  if (status >= 500) {
    return `status ${status}`;
  }
  if (status < 400) {
    const leaks = internalsIn(text);
    return leaks.length > 0 ? `body shows ${leaks.join(', ')}` : undefined;
  }
  if (route.shape === 'openai') {
    return openAiErrorProblem(status, text);
  }
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error !== 'string' || body.error === '' || Object.keys(body).length !== 1) {
      return 'not Ollama\'s {"error": "…"}';
    }
  } catch {
    return 'body is not JSON';
  }
  const leaks = internalsIn(text);
  return leaks.length > 0 ? `body shows ${leaks.join(', ')}` : undefined;
}

describe('malformed requests to the OpenAI embeddings, tools and Ollama routes', () => {
  let service: SecuredApp;

  beforeAll(async () => {
    process.stderr.write(`fuzz of the new routes: seed ${SEED}, ${CASES} cases (rerun with FUZZ_SEED=${SEED})\n`);
    service = await startSecuredApp({ API_KEYS: API_KEY, OLLAMA_MODELS: EMBEDDER, LLM_MAX_QUEUE: '1000' });
    await waitFor('every model ready', async () => {
      const health = (await (await fetch(`${service.url}/health/llm`)).json()) as { status: string };
      return health.status === 'ok';
    });
  }, 60_000);

  afterAll(async () => {
    await service?.close();
  });

  it('answers a well-formed request on every route', async () => {
    const rng = new Prng(1);
    for (const route of ROUTES) {
      const response = await fetch(`${service.url}${route.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify(route.valid(rng)),
      });
      expect({ path: route.path, status: response.status }).toEqual({ path: route.path, status: 200 });
      await response.arrayBuffer();
    }
  });

  it(`answers ${CASES} malformed requests with a 4xx in the route's error shape, never a 5xx`, async () => {
    const rng = new Prng(SEED);
    const problems: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next++ < CASES) {
        const route = rng.pick(ROUTES);
        const body = requestBody(rng, route);
        const response = await fetch(`${service.url}${route.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        const text = await response.text();
        const problem = problemWith(route, response.status, text);
        if (problem !== undefined) {
          problems.push(`${route.path} ${problem}: ${body.slice(0, 300)} → ${text.slice(0, 300)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(problems).toEqual([]);
  }, 300_000);
});
