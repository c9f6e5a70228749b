import { getEventListeners } from 'node:events';
import { createServer as createHttpServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Server as TcpServer, Socket } from 'node:net';
import { OllamaProbe } from './ollama-probe';

function probeFor(url: string): OllamaProbe {
  return new OllamaProbe({ url });
}

async function listen<T extends Server | TcpServer>(server: T): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe(OllamaProbe.name, () => {
  const servers: Array<Server | TcpServer> = [];
  const sockets: Socket[] = [];

  async function serve<T extends Server | TcpServer>(server: T): Promise<string> {
    servers.push(server);
    server.on('connection', (socket: Socket) => sockets.push(socket));
    return listen(server);
  }

  afterEach(async () => {
    sockets.splice(0).forEach((socket) => socket.destroy());
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('recognises Ollama by its banner and version', async () => {
    const url = await serve(
      createHttpServer((req, res) => {
        if (req.url === '/api/version') {
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.end('{"version":"0.33.0"}');
        } else {
          res.end('Ollama is running');
        }
      }),
    );

    await expect(probeFor(url).identify()).resolves.toEqual({ kind: 'ollama', version: '0.33.0' });
    await expect(probeFor(url).version()).resolves.toEqual({ ok: true, version: '0.33.0' });
  });

  it('tells a plain HTTP server apart from Ollama', async () => {
    const url = await serve(
      createHttpServer((_req, res) => {
        res.statusCode = 404;
        res.end('Not Found');
      }),
    );

    await expect(probeFor(url).identify()).resolves.toEqual({
      kind: 'foreign',
      detail: 'GET / answered 404 "Not Found"',
    });
    await expect(probeFor(url).version()).resolves.toEqual({
      ok: false,
      detail: 'GET /api/version answered 404 without a version',
    });
  });

  it('tells a server that does not speak HTTP apart from Ollama', async () => {
    const url = await serve(createTcpServer((socket) => socket.end('220 smtp.example ESMTP\r\n')));

    await expect(probeFor(url).identify()).resolves.toMatchObject({ kind: 'foreign' });
  });

  it('reports a server that accepts connections but never answers, after 2 s', async () => {
    const url = await serve(createTcpServer(() => undefined));
    const started = Date.now();

    await expect(probeFor(url).identify()).resolves.toEqual({
      kind: 'silent',
      detail: 'accepted the connection but did not answer within 2 s',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  it('reports a port where nothing listens as unreachable', async () => {
    const closed = createHttpServer();
    const url = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));

    await expect(probeFor(url).identify()).resolves.toEqual({ kind: 'unreachable', detail: 'connection refused' });
    await expect(probeFor(url).version()).resolves.toEqual({ ok: false, detail: 'connection refused' });
  });

  it('gives up at once when its signal aborts', async () => {
    const url = await serve(createTcpServer(() => undefined));
    const controller = new AbortController();
    const probing = probeFor(url).identify(controller.signal);
    controller.abort();

    await expect(probing).resolves.toMatchObject({ kind: 'unreachable', detail: 'probe cancelled' });
  });

  it("keeps nothing on the caller's signal once a probe is over", async () => {
    const url = await serve(createHttpServer((_req, res) => res.end('{"version":"0.33.0"}')));
    const lifetime = new AbortController();
    const probe = probeFor(url);
    for (let i = 0; i < 20; i++) {
      await expect(probe.version(lifetime.signal)).resolves.toEqual({ ok: true, version: '0.33.0' });
    }

    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    // Node 20's `AbortSignal.any` would have left an entry per probe here, for the signal's lifetime.
    const dependants = Object.getOwnPropertySymbols(lifetime.signal)
      .filter((key) => key.description === 'kDependantSignals')
      .map((key) => (lifetime.signal as unknown as Record<symbol, Set<unknown> | undefined>)[key]);
    expect(dependants.map((set) => set?.size ?? 0).filter((size) => size > 0)).toEqual([]);
  });
});
