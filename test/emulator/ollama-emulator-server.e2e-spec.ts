import { BUSY_MESSAGE, OllamaEmulator } from './ollama-emulator';
import { LineReader, settlesWithin, useEmulator } from './test-helpers';
import { postJson } from '../support/http';
import { Agent, get, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** One GET through `agent`, read to its end: its headers and the socket it came on. */
function getOnce(agent: Agent, url: string): Promise<{ headers: IncomingMessage['headers']; socket: Socket }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      const socket = res.socket;
      res.resume();
      res.on('end', () => resolve({ headers: res.headers, socket }));
    }).on('error', reject);
  });
}

jest.setTimeout(30_000);

describe('OllamaEmulator', () => {
  const h = useEmulator();

  describe('liveness, version and routing', () => {
    h.startEach(() => new OllamaEmulator());

    it('answers GET / with the plain-text liveness line', async () => {
      const res = await fetch(`${h.emulator.url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe('Ollama is running');
    });

    it('answers HEAD / with the same status and headers and no body', async () => {
      const res = await fetch(`${h.emulator.url}/`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.headers.get('content-length')).toBe('17');
      expect(await res.text()).toBe('');
    });

    it('reports the configured version on GET and HEAD /api/version', async () => {
      const res = await fetch(`${h.emulator.url}/api/version`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({ version: '0.33.0' });
      h.emulator.configure({ version: '0.12.3' });
      expect(await (await fetch(`${h.emulator.url}/api/version`)).json()).toEqual({ version: '0.12.3' });
      const head = await fetch(`${h.emulator.url}/api/version`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    });

    it('keeps an idle connection open with no Keep-Alive hint, as Ollama’s Go server does', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await getOnce(agent, `${h.emulator.url}/api/version`);
        expect(first.headers['keep-alive']).toBeUndefined();
        expect(first.headers.connection).toBe('keep-alive');
        // Longer than Node's default server idle timeout (5 s), which Ollama does not have.
        await new Promise((resolve) => setTimeout(resolve, 5_500));
        const second = await getOnce(agent, `${h.emulator.url}/api/version`);
        expect(second.socket).toBe(first.socket);
      } finally {
        agent.destroy();
      }
    });

    it('answers an unknown path with a plain-text 404 and a wrong method with a plain-text 405', async () => {
      const missing = await fetch(`${h.emulator.url}/api/nothing-here`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toContain('text/plain');
      expect(await missing.text()).toBe('404 page not found');

      const wrongMethod = await fetch(`${h.emulator.url}/api/chat`);
      expect(wrongMethod.status).toBe(405);
      expect(await wrongMethod.text()).toBe('405 method not allowed');

      const headPs = await fetch(`${h.emulator.url}/api/ps`, { method: 'HEAD' });
      expect(headPs.status).toBe(405);
    });

    it('counts requests by endpoint and keeps the last request bodies', async () => {
      await fetch(`${h.emulator.url}/`);
      await fetch(`${h.emulator.url}/api/version`);
      await postJson(`${h.emulator.url}/api/chat`, {
        model: 'llama3.1',
        messages: [{ role: 'user', content: 'hi' }],
        keep_alive: '10m',
      });
      const stats = h.emulator.stats;
      expect(stats.requests).toMatchObject({ root: 1, version: 1, chat: 1 });
      expect(stats.keepAliveSeen).toEqual(['10m']);
      expect(stats.lastRequests.at(-1)).toEqual({
        endpoint: 'chat',
        method: 'POST',
        path: '/api/chat',
        body: { model: 'llama3.1', messages: [{ role: 'user', content: 'hi' }], keep_alive: '10m' },
        model: 'llama3.1',
        keepAlive: '10m',
        images: 0,
        status: 200,
        aborted: false,
      });
      h.emulator.resetStats();
      expect(h.emulator.stats.requests).toEqual({});
      expect(h.emulator.stats.lastRequests).toEqual([]);
    });
  });

  describe('lifecycle', () => {
    it('stops idempotently, cutting open streams, and several emulators run side by side', async () => {
      h.emulator = new OllamaEmulator({ tokenDelayMs: 200 });
      const other = new OllamaEmulator({ version: '9.9.9', models: [] });
      await h.emulator.start(0);
      await other.start(0);
      expect(h.emulator.port).not.toBe(other.port);
      expect(await (await fetch(`${other.url}/api/version`)).json()).toEqual({ version: '9.9.9' });
      expect(await (await fetch(`${other.url}/api/tags`)).json()).toEqual({ models: [] });

      const res = await postJson(`${h.emulator.url}/api/chat`, {
        model: 'llama3.1',
        messages: [{ role: 'user', content: 'x' }],
      });
      const reader = LineReader.of(res);
      expect(await reader.next()).toBeDefined();
      const rest = (async () => {
        while ((await reader.next()) !== undefined) {
          // drain until the connection is cut
        }
      })().catch((err: unknown) => err);
      const url = h.emulator.url;
      await h.emulator.stop();
      await h.emulator.stop();
      expect(await settlesWithin(rest, 5_000)).not.toBe('timeout');
      await expect(fetch(`${url}/api/version`)).rejects.toThrow();
      expect(h.emulator.stats.abortedStreams).toBe(0);
      await other.stop();
    });

    it('exports the exact busy text with two spaces', () => {
      expect(BUSY_MESSAGE).toBe('server busy, please try again.  maximum pending requests exceeded');
    });
  });
});
