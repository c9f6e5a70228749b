import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { eventually } from '../support/eventually';
import { parseSse, parseSseEvents, postJson } from '../support/http';

describe('test support', () => {
  describe(eventually.name, () => {
    it('resolves with the first truthy value of a check that may be async', async () => {
      let calls = 0;
      const value = await eventually('the third call', async () => {
        calls++;
        return calls >= 3 ? { calls } : undefined;
      });
      expect(value).toEqual({ calls: 3 });
    });

    it('accepts the check first, with or without a description', async () => {
      let ticks = 0;
      await expect(eventually(() => ++ticks > 2, 'a few ticks', 1_000)).resolves.toBe(true);
      await expect(eventually(() => 'done', 1_000)).resolves.toBe('done');
    });

    it('fails with the description and the timeout once the time is up', async () => {
      await expect(
        eventually('a condition that never holds', () => false, { timeoutMs: 60, intervalMs: 10 }),
      ).rejects.toThrow('timed out after 60 ms waiting for a condition that never holds');
      await expect(eventually(() => 0, 'zero to become truthy', 30)).rejects.toThrow(
        'timed out after 30 ms waiting for zero to become truthy; last value: 0',
      );
    });

    it('rejects at once with an error the check throws', async () => {
      const started = Date.now();
      await expect(
        eventually('a process that died', () => {
          throw new Error('the process exited');
        }),
      ).rejects.toThrow('the process exited');
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  describe(parseSseEvents.name, () => {
    it('reads data payloads, event names and ids, and skips comments', () => {
      const body = ': keep-alive\n\nevent: progress\nid: 7\ndata: {"a":1}\n\ndata: [DONE]\n\n';
      expect(parseSseEvents(body)).toEqual([
        { event: 'progress', id: '7', data: '{"a":1}' },
        { id: '7', data: '[DONE]' },
      ]);
      expect(parseSse(body)).toEqual(['{"a":1}', '[DONE]']);
    });

    it('joins several data lines, accepts CRLF and a missing space, and drops a cut-off last event', () => {
      expect(parseSse('data: one\r\ndata:two\r\n\r\ndata: cut off')).toEqual(['one\ntwo']);
      expect(parseSseEvents('event: ping\n\n')).toEqual([]);
    });
  });

  describe(postJson.name, () => {
    let server: Server;
    let url: string;
    let seen: { method?: string; headers: IncomingHttpHeaders; body: string } | undefined;

    beforeAll(async () => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          seen = { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
          res.end('ok');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('posts JSON with its content type and keeps the caller headers', async () => {
      const res = await postJson(url, { a: [1, 2] }, { headers: { authorization: 'Bearer k' } });
      expect(res.status).toBe(200);
      expect(seen).toMatchObject({
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
        body: '{"a":[1,2]}',
      });
    });

    it('sends a string body as it is and lets the caller replace the content type', async () => {
      await postJson(url, '{"broken":', { headers: { 'Content-Type': 'text/plain' } });
      expect(seen).toMatchObject({ headers: { 'content-type': 'text/plain' }, body: '{"broken":' });
    });
  });
});
