import { contractErrorProblem, internalsIn, openAiErrorProblem } from './support/error-body';
import {
  CHAT_ROUTE,
  FuzzRoute,
  MalformedRequest,
  OPENAI_CHAT_ROUTE,
  Prng,
  RISK_ROUTE,
  junkQuery,
  malformedRequest,
} from './support/malformed-requests';
import { VALID_CHAT, postJson } from './support/requests';
import { SecuredApp, startSecuredApp } from './support/secured-app';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 3_000);
const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 20_000;
const BODY_LIMIT_BYTES = 1_048_576;
/** RSS may grow (heap, buffers, JIT) but not without bound. */
const RSS_GROWTH_LIMIT_BYTES = 512 * 1024 * 1024;
const API_KEY = 'fuzz-key-0123456789';
const PUBLIC_GET_ROUTES = ['/health/live', '/health/ready', '/health', '/health/ollama', '/health/llm', '/metrics'];

interface Outcome {
  /** The request, its body cut to a preview once sent. */
  request: MalformedRequest;
  bodyBytes: number;
  elapsedMs: number;
  status?: number;
  text?: string;
  error?: string;
}

/** Why an answer breaks the contract, or `undefined` when it does not. */
function problemWith({ request, status, text, error }: Outcome): string | undefined {
  if (error !== undefined || status === undefined || text === undefined) {
    return `no answer: ${error ?? 'unknown'}`;
  }
  if (!request.expected.includes(status)) {
    return `status ${status}, expected ${request.expected.join(' or ')}`;
  }
  if (status < 400) {
    const leaks = internalsIn(text);
    return leaks.length > 0 ? `body shows ${leaks.join(', ')}` : undefined;
  }
  if (request.errorShape === 'openai') {
    // Refusals raised before the route's own handling (unreadable JSON, wrong type) too.
    return openAiErrorProblem(status, text);
  }
  return contractErrorProblem(status, text);
}

function describeFailure(outcome: Outcome, problem: string): string {
  const { request } = outcome;
  const preview = request.body?.toString('utf8') ?? '';
  return [
    `${request.method} ${request.path.slice(0, 200)} [${request.label}]: ${problem}`,
    `  request headers: ${JSON.stringify(request.headers)}, body (${outcome.bodyBytes} bytes): ${JSON.stringify(preview)}`,
    `  answer: ${JSON.stringify((outcome.text ?? '').slice(0, 500))}`,
  ].join('\n');
}

async function send(baseUrl: string, request: MalformedRequest): Promise<Outcome> {
  const started = performance.now();
  const bodyBytes = request.body?.length ?? 0;
  const sent = (): MalformedRequest => ({
    ...request,
    body: request.body && Buffer.from(request.body.subarray(0, 300)),
  });
  try {
    const response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    return { request: sent(), bodyBytes, elapsedMs: performance.now() - started, status: response.status, text };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { request: sent(), bodyBytes, elapsedMs: performance.now() - started, error: reason };
  }
}

/** The slowest answers, to point at whatever made the run slow. */
function slowest(outcomes: readonly Outcome[], count: number): string {
  return [...outcomes]
    .sort((a, b) => b.elapsedMs - a.elapsedMs)
    .slice(0, count)
    .map(
      ({ request, bodyBytes, elapsedMs, status }) =>
        `${Math.round(elapsedMs)} ms ${status ?? '-'} ${request.path.slice(0, 40)} [${request.label}] ${bodyBytes} B`,
    )
    .join('\n  ');
}

/**
 * Runs `work` on `count` items made by `make`, at most `concurrency` at once. Items are made one at a
 * time as workers take them, in order, so the sequence is the same whatever the timing, and neither
 * making them all up front nor holding them all stalls the event loop the service shares with the test.
 */
async function pool<T, R>(
  count: number,
  concurrency: number,
  make: () => T,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < count; index = next++) {
      results[index] = await work(make());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

describe('malformed requests', () => {
  let service: SecuredApp;
  let routes: FuzzRoute[];
  let getRoutes: string[];
  let prototypeBefore: string[];

  beforeAll(async () => {
    process.stderr.write(`fuzz seed ${SEED}, ${CASES} cases (rerun with FUZZ_SEED=${SEED})\n`);
    prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    service = await startSecuredApp({ API_KEYS: API_KEY, BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) });
    const fastify = service.running.app.getHttpAdapter().getInstance();
    const openAi = fastify.hasRoute({ method: 'POST', url: OPENAI_CHAT_ROUTE.path });
    routes = [CHAT_ROUTE, RISK_ROUTE, ...(openAi ? [OPENAI_CHAT_ROUTE] : [])];
    getRoutes = [
      ...PUBLIC_GET_ROUTES,
      ...(fastify.hasRoute({ method: 'GET', url: '/v1/models' }) ? ['/v1/models'] : []),
    ];
  });

  afterAll(async () => {
    await service?.close();
  });

  it('answers a well-formed request, so the routes under test exist', async () => {
    const response = await postJson(`${service.url}/chat`, VALID_CHAT, { authorization: `Bearer ${API_KEY}` });
    expect(response.status).toBe(200);
  });

  it(`answers every malformed request with a clean 4xx, never a 5xx or a hang (seed ${SEED})`, async () => {
    const rng = new Prng(SEED);
    const keyHeaders = { authorization: `Bearer ${API_KEY}` };
    const make = (): MalformedRequest => {
      const request = rng.chance(0.08)
        ? junkQuery(rng.pick(getRoutes), rng, keyHeaders)
        : malformedRequest(routes, rng, BODY_LIMIT_BYTES);
      request.headers = { ...keyHeaders, ...request.headers };
      return request;
    };
    const rssBefore = process.memoryUsage().rss;

    const outcomes = await pool(CASES, CONCURRENCY, make, (request) => send(service.url, request));

    const failures = outcomes.flatMap((outcome) => {
      const problem = problemWith(outcome);
      return problem === undefined ? [] : [describeFailure(outcome, problem)];
    });
    const statuses = outcomes.reduce<Record<string, number>>((counts, { status }) => {
      counts[String(status)] = (counts[String(status)] ?? 0) + 1;
      return counts;
    }, {});
    process.stderr.write(
      `fuzz seed ${SEED}: statuses ${JSON.stringify(statuses)}; slowest:\n  ${slowest(outcomes, 8)}\n`,
    );
    expect({ seed: SEED, failures: failures.length, first: failures.slice(0, 10) }).toEqual({
      seed: SEED,
      failures: 0,
      first: [],
    });
    expect(Object.keys(statuses).filter((status) => Number(status) >= 500)).toEqual([]);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT_BYTES);
  }, 240_000);

  it('is still alive afterwards', async () => {
    const response = await fetch(`${service.url}/health/live`);
    expect(response.status).toBe(200);
  });

  it('left Object.prototype untouched', () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.toString.call({})).toBe('[object Object]');
  });
});
