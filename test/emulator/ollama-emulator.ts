/**
 * An in-process HTTP server that speaks the Ollama protocol (native `/api/*` and the OpenAI-
 * compatible `/v1/*`), with a simulated model scheduler, knobs for timing, fault injection and
 * records and counters for tests. Several emulators can run in one process; none keeps the process
 * alive. README.md beside this file describes the API tests use.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { isCapability } from './capabilities';
import type { EmulatorContext } from './context';
import { CONTROL_PREFIX, handleControl } from './control';
import { FaultQueue, applyRequestFault } from './faults';
import { monotonicNs } from './go-time';
import { readBody, sendOllamaError, sendText, type Exchange } from './http-util';
import { parseEnvKeepAlive } from './keep-alive';
import { ModelCatalog } from './model-catalog';
import { normaliseModelName } from './model-names';
import { defaultRegistry, type RegistryModel } from './model-registry';
import { Recorder } from './recorder';
import { requestTypes } from './request-types';
import { buildRoutes, matchRoute, type Route } from './routes';
import { Scheduler } from './scheduler';
import { isToolCallMode } from './tool-calls';
import { RequestAbortedError, TimerSet } from './timers';
import type { EmulatorOptions, EmulatorStats, Fault, RequestFilter, RequestRecord } from './types';

export { BUSY_MESSAGE } from './faults';
export { defaultRegistry } from './model-registry';
export { CAPABILITIES, type Capability } from './capabilities';
export type {
  AccessLogEntry,
  EmulatorOptions,
  EmulatorStats,
  EndpointName,
  Fault,
  FaultKind,
  ModelStats,
  ReplyRequest,
  RequestFilter,
  RequestRecord,
  ScriptedToolCall,
  ToolCallMode,
  ToolResult,
  ToolSpec,
} from './types';
export type { RegistryLayer, RegistryModel, ModelDetails } from './model-registry';

/** Options that may be set back to undefined by `configure`. */
const CLEARABLE_OPTIONS = new Set(['replyText', 'structuredReply', 'accessLog', 'toolCalls']);

interface ActiveExchange {
  ex: Exchange;
  controller: AbortController;
}

function defaultOptions(): EmulatorOptions {
  return {
    version: '0.33.0',
    models: ['llama3.1:latest'],
    registry: defaultRegistry(),
    loadTimeMs: 0,
    tokenDelayMs: 0,
    pullChunkDelayMs: 5,
    pullChunks: 4,
    defaultKeepAlive: '5m',
    numParallel: 1,
    defaultNumCtx: 4096,
  };
}

export class OllamaEmulator {
  private readonly opts: EmulatorOptions;
  private readonly timers = new TimerSet();
  private readonly catalog: ModelCatalog;
  private readonly scheduler: Scheduler;
  private readonly recorder = new Recorder();
  private readonly faults = new FaultQueue();
  private readonly routes: Route[];
  private readonly sockets = new Set<Socket>();
  private accepted = 0;
  private readonly active = new Set<ActiveExchange>();
  private server: Server | undefined;
  private address: AddressInfo | undefined;

  constructor(options: Partial<EmulatorOptions> = {}) {
    this.opts = { ...defaultOptions(), ...options };
    this.catalog = new ModelCatalog(this.opts.registry, this.opts.models);
    this.scheduler = new Scheduler(
      this.timers,
      () => ({
        loadTimeMs: this.opts.loadTimeMs,
        numParallel: this.opts.numParallel,
        defaultKeepAliveNs: parseEnvKeepAlive(this.opts.defaultKeepAlive),
      }),
      {
        loaded: (runner) => this.recorder.loaded(runner.info.name),
        unloaded: (runner) => this.recorder.unloaded(runner.info.name),
        abandoned: () => this.recorder.abandoned(),
      },
    );
    const ctx: EmulatorContext = {
      options: this.opts,
      catalog: this.catalog,
      scheduler: this.scheduler,
      timers: this.timers,
      types: requestTypes(),
    };
    this.routes = buildRoutes(ctx);
  }

  /** Base URL, e.g. `http://127.0.0.1:43123`. Only valid after `start()`. */
  get url(): string {
    if (this.address === undefined) {
      throw new Error('OllamaEmulator is not started');
    }
    const { address, family } = this.address;
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : family === 'IPv6' ? `[${address}]` : address;
    return `http://${host}:${this.address.port}`;
  }

  get port(): number {
    if (this.address === undefined) {
      throw new Error('OllamaEmulator is not started');
    }
    return this.address.port;
  }

  /** The bound address (`0.0.0.0`, `::`, `127.0.0.1`, …) as the OS reports it. */
  get boundAddress(): AddressInfo | undefined {
    return this.address === undefined ? undefined : { ...this.address };
  }

  /** A snapshot of the current options. */
  get options(): Readonly<EmulatorOptions> {
    return { ...this.opts, models: this.catalog.localNames() };
  }

  /** Connections accepted since the start: whether a client reuses its idle ones. */
  get connectionsAccepted(): number {
    return this.accepted;
  }

  /** Listens on `host:port` (port 0 picks a free one). Rejects with the listen error, e.g. EADDRINUSE. */
  async start(port = 0, host = '127.0.0.1'): Promise<void> {
    if (this.server !== undefined) {
      throw new Error('OllamaEmulator is already started');
    }
    const server = createServer((req, res) => this.onRequest(req, res));
    // As Ollama's Go server: idle connections are never closed, and no `Keep-Alive: timeout` is sent.
    server.keepAliveTimeout = 0;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      this.accepted += 1;
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: host === '' ? undefined : host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.address = server.address() as AddressInfo;
  }

  /** Closes the server, cuts every open connection and cancels every timer. Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) {
      return;
    }
    this.server = undefined;
    for (const { ex, controller } of this.active) {
      ex.closedByServer = true;
      controller.abort(new RequestAbortedError('emulator stopped'));
    }
    for (const socket of this.sockets) {
      socket.destroy();
    }
    this.timers.clearAll();
    this.scheduler.reset();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Changes options at run time. `models` replaces the local store, `registry` the pullable set. */
  configure(partial: Partial<EmulatorOptions>): void {
    const invalid = (partial.models ?? []).find((name) => normaliseModelName(name) === undefined);
    if (invalid !== undefined) {
      throw new Error(`invalid model name in emulator options: ${JSON.stringify(invalid)}`);
    }
    const { toolCalls } = partial;
    if (toolCalls !== undefined && typeof toolCalls !== 'function' && !isToolCallMode(toolCalls)) {
      throw new Error(
        `invalid toolCalls ${JSON.stringify(toolCalls)}: expected "auto", "none", "all" or {"calls": [{"name": …}]}`,
      );
    }
    if (partial.registry !== undefined) {
      this.catalog.setRegistry(partial.registry);
    }
    if (partial.models !== undefined) {
      this.catalog.setLocal(partial.models);
    }
    for (const [key, value] of Object.entries(partial)) {
      if (value === undefined && !CLEARABLE_OPTIONS.has(key)) {
        continue;
      }
      (this.opts as unknown as Record<string, unknown>)[key] = value;
    }
    this.scheduler.wake();
  }

  /**
   * Adds a model with the given metadata (capabilities, lengths, details, layers; anything missing is
   * guessed from the name) to the registry, and to the local store unless `local: false` (then only
   * `/api/pull` can fetch it). A model already present is replaced.
   * @throws on an invalid name or an unknown capability.
   */
  addModel(name: string, model: RegistryModel = {}, placement: { local?: boolean } = {}): void {
    const normalised = normaliseModelName(name);
    if (normalised === undefined) {
      throw new Error(`invalid model name: ${JSON.stringify(name)}`);
    }
    const unknown = (model.capabilities ?? []).find((capability) => !isCapability(capability));
    if (unknown !== undefined) {
      throw new Error(`unknown capability: ${JSON.stringify(unknown)}`);
    }
    this.catalog.register(normalised, model);
    if (placement.local !== false) {
      this.catalog.add(this.catalog.resolve(normalised));
    }
  }

  /** Adds a fault; faults are matched in the order injected, one per request. */
  injectFault(fault: Fault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** A copy of the counters and of the last requests' records. */
  get stats(): EmulatorStats {
    return this.recorder.stats;
  }

  /** Zeroes the counters and forgets the records; `inFlight` keeps counting the requests still running. */
  resetStats(): void {
    this.recorder.reset();
  }

  /**
   * Records of the last 50 requests matching `filter` (endpoint and/or model, any spelling of the
   * name), oldest first: path, model, keep_alive, options, tools, format, image count, stream, status.
   */
  requests(filter: RequestFilter = {}): RequestRecord[] {
    return this.recorder.requests(filter);
  }

  /** The newest kept record matching `filter`, e.g. `lastRequest({ endpoint: 'chat', model: 'llama3.1' })`. */
  lastRequest(filter: RequestFilter = {}): RequestRecord | undefined {
    return this.recorder.requests(filter).at(-1);
  }

  /** How many requests matching `filter` arrived since the last reset (counted, not limited to the records). */
  requestCount(filter: RequestFilter = {}): number {
    return this.recorder.count(filter);
  }

  /** Names of the models loaded now (as /api/ps lists them, loading ones excluded). */
  residentModels(): string[] {
    return this.scheduler
      .runnersSnapshot()
      .filter((r) => r.state === 'ready')
      .map((r) => r.info.name);
  }

  /** Drops every loaded model at once, as an eviction or a runner crash would. */
  unloadAll(): void {
    this.scheduler.unloadAll();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const controller = new AbortController();
    const ex: Exchange = {
      req,
      res,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      endpoint: 'unsupported',
      body: Buffer.alloc(0),
      signal: controller.signal,
      startedNs: monotonicNs(),
      closedByServer: false,
    };
    const entry: ActiveExchange = { ex, controller };
    this.active.add(entry);
    res.on('close', () => {
      this.active.delete(entry);
      if (!res.writableFinished) {
        controller.abort(new RequestAbortedError());
      }
      this.opts.accessLog?.({
        method: ex.method,
        path: ex.path,
        status: res.writableFinished ? res.statusCode : 499,
        durationMs: Number(monotonicNs() - ex.startedNs) / 1e6,
        remoteAddress: req.socket.remoteAddress ?? '',
      });
    });
    this.handle(ex).catch((err: unknown) => {
      if (err instanceof RequestAbortedError || controller.signal.aborted) {
        return;
      }
      if (!res.headersSent) {
        sendOllamaError(res, 500, err instanceof Error ? err.message : String(err));
      } else {
        res.destroy();
      }
    });
  }

  private async handle(ex: Exchange): Promise<void> {
    if (ex.path.startsWith(CONTROL_PREFIX)) {
      await handleControl(this, this.faults, ex);
      return;
    }
    const found = matchRoute(this.routes, ex.path);
    if (found === undefined) {
      sendText(ex.res, 404, '404 page not found');
      return;
    }
    const handler = found.route.methods[ex.method];
    if (handler === undefined) {
      sendText(ex.res, 405, '405 method not allowed');
      return;
    }
    ex.endpoint = found.route.endpoint;
    this.recorder.track(ex);
    ex.body = await readBody(ex.req);
    this.recorder.record(ex);
    const fault = this.faults.take(ex.endpoint);
    if (fault !== undefined && (await applyRequestFault(ex, fault))) {
      return;
    }
    await handler(ex, fault, found.param);
  }
}
