import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One answer that passed through the proxy: the bytes of its body as the upstream sent them (de-chunked). */
export interface ProxiedAnswer {
  method: string;
  path: string;
  status: number;
  contentType?: string;
  body: Buffer;
}

/**
 * A transparent HTTP proxy in front of one server (the Ollama emulator) that keeps the body bytes of
 * every answer, so a test can compare what the gateway relayed with what Ollama sent. A client that
 * leaves closes the upstream request too, as it would close its connection to Ollama.
 */
export class RecordingProxy {
  readonly answers: ProxiedAnswer[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: string) {
    this.server = createServer((req, res) => {
      const upstream = request(
        `${this.target}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            res.write(chunk);
          });
          answer.on('end', () => {
            this.answers.push({
              method: req.method ?? 'GET',
              path: (req.url ?? '/').split('?')[0],
              status: answer.statusCode ?? 0,
              ...(answer.headers['content-type'] !== undefined && { contentType: answer.headers['content-type'] }),
              body: Buffer.concat(chunks),
            });
            res.end();
          });
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => {
        if (!res.writableFinished) {
          upstream.destroy();
        }
      });
      req.pipe(upstream);
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on a free loopback port; resolves with the proxy's base URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The newest answer to `method path`. */
  last(method: string, path: string): ProxiedAnswer | undefined {
    return this.answers.filter((answer) => answer.method === method && answer.path === path).at(-1);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) {
      socket.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}
