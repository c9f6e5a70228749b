import { postUnread, UnreadRequest } from '../support/connections';
import { eventually } from '../support/eventually';
import { Gateway, MODEL, startGateway } from '../support/gateway';
import { postJson } from '../support/http';
import { metricValue } from '../support/metrics';

/** What the streamed clients ask for: the emulator answers it with the long reply below. */
const FLOOD = 'flood me';

/*
 * A reply far larger than the kernel's socket buffers between the gateway and a client (a few MB on
 * loopback), so a client that reads nothing makes the gateway's writes wait: 1000 tokens of 16 KB
 * (one token is a run of spaces and a word), then 3000 short ones that keep the generation going well
 * past OLLAMA_TIMEOUT.
 */
const LONG_REPLY = `${`${' '.repeat(16 * 1024)}w`.repeat(1000)}${' word'.repeat(3000)}`;
const SHORT_REPLY = 'A short answer.';

const SLOTS = 4;

interface Route {
  path: string;
  endpoint: string;
  body(message: string, stream: boolean): Record<string, unknown>;
}

const ROUTES: Route[] = [
  { path: '/chat', endpoint: 'chat', body: (message, stream) => ({ message, stream }) },
  {
    path: '/v1/chat/completions',
    endpoint: 'openai',
    body: (message, stream) => ({ model: MODEL, messages: [{ role: 'user', content: message }], stream }),
  },
];

describe('streams whose clients read nothing', () => {
  let gateway: Gateway;
  const clients: UnreadRequest[] = [];

  beforeAll(async () => {
    gateway = await startGateway({
      OLLAMA_TIMEOUT: '2',
      OLLAMA_MAX_RETRIES: '0',
      LLM_MAX_CONCURRENCY: String(SLOTS),
      // A request that waits longer for a slot is refused; the generations' connections would only be
      // closed by the server's inactivity limit, a minute later.
      LLM_QUEUE_TIMEOUT: '30',
    });
    gateway.emulator.configure({
      numParallel: SLOTS,
      tokenDelayMs: 5,
      replyText: ({ prompt }) => (prompt === FLOOD ? LONG_REPLY : SHORT_REPLY),
    });
  });

  afterEach(async () => {
    clients.splice(0).forEach((client) => client.socket.destroy());
    await eventually('the generations to end', () => gateway.emulator.stats.inFlight === 0, 10_000);
    gateway.emulator.resetStats();
  });

  afterAll(async () => {
    await gateway?.close();
  });

  describe.each(ROUTES)('$path', (route) => {
    it('gives every slot back after OLLAMA_TIMEOUT without reading, aborting the generations, so a new request is served', async () => {
      const url = `${gateway.url}${route.path}`;
      const abortedBefore = await metricValue(gateway.url, 'llm_request_duration_seconds_count', {
        endpoint: route.endpoint,
        outcome: 'aborted',
      });
      for (let i = 0; i < SLOTS; i++) {
        clients.push(await postUnread(url, route.body(FLOOD, true)));
      }
      await eventually('every slot to be generating', () => gateway.emulator.stats.inFlight === SLOTS, 10_000);

      // Queued behind the four: served only if their slots come back before LLM_QUEUE_TIMEOUT.
      const next = await postJson(url, route.body('Hello', false));

      expect(next.status).toBe(200);
      expect(JSON.stringify(await next.json())).toContain(SHORT_REPLY);
      await eventually('Ollama to see every generation aborted', () => gateway.emulator.stats.abortedStreams === SLOTS);
      await eventually(
        'the aborted calls to be counted',
        async () =>
          (await metricValue(gateway.url, 'llm_request_duration_seconds_count', {
            endpoint: route.endpoint,
            outcome: 'aborted',
          })) ===
          abortedBefore + SLOTS,
      );
      // The gateway closed the connections it gave up; what reached them is far less than the reply.
      for (const client of clients) {
        expect(await client.readUntilClosed()).toBeLessThan(LONG_REPLY.length);
      }
    }, 60_000);
  });
});
