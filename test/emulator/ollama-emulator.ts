/**
 * An in-process HTTP server that speaks the Ollama protocol (native `/api/*` and the OpenAI-
 * compatible `/v1/*`), with a simulated model scheduler, knobs for timing, fault injection and
 * counters for tests. Several emulators can run in one process; none keeps the process alive.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import type { EmulatorContext } from './context';
import { decodeFirstJsonValue } from './go-json';
import { requestTypes } from './request-types';
import { monotonicNs } from './go-time';
import { isRecord, readBody, sendJson, sendOllamaError, sendOpenAiError, sendText, type Exchange } from './http-util';
import { GoError, parseApiKeepAlive, parseEnvKeepAlive } from './keep-alive';
import { ModelCatalog } from './model-catalog';
import { normaliseModelName } from './model-names';
import { defaultRegistry } from './model-registry';
import {
  handleCopy,
  handleDelete,
  handlePs,
  handlePull,
  handleRoot,
  handleShow,
  handleStatus,
  handleTags,
  handleVersion,
} from './native-handlers';
import { handleNativeInference } from './native-inference';
import { handleOpenAiChat, handleOpenAiModel, handleOpenAiModels } from './openai';
import { Scheduler } from './scheduler';
import { RequestAbortedError, TimerSet, untilAborted } from './timers';
import {
  INFERENCE_ENDPOINTS,
  type EmulatorOptions,
  type EmulatorStats,
  type EndpointName,
  type Fault,
  type FaultKind,
} from './types';

export type {
  AccessLogEntry,
  EmulatorOptions,
  EmulatorStats,
  EndpointName,
  Fault,
  FaultKind,
  ReplyRequest,
  RequestRecord,
} from './types';
export type { RegistryLayer, RegistryModel, ModelDetails } from './model-registry';

/** Ollama's `ErrMaxQueue` text, two spaces after the full stop included. */
export const BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';

const DEFAULT_FAULT_ENDPOINTS: readonly EndpointName[] = ['chat', 'generate'];
const FAULT_KINDS: readonly FaultKind[] = [
  'http-error',
  'busy',
  'hang',
  'hang-after-first-chunk',
  'mid-stream-error',
  'invalid-structured-output',
  'drop-connection',
];
const LAST_REQUESTS_KEPT = 50;
const CONTROL_PREFIX = '/__emulator/';

type Handler = (ex: Exchange, fault: Fault | undefined, param: string) => Promise<void> | void;

interface Route {
  /** Segments; `:name` matches any one segment. */
  pattern: string[];
  endpoint: EndpointName;
  methods: Partial<Record<string, Handler>>;
}

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

function emptyStats(): EmulatorStats {
  return {
    requests: {},
    loads: 0,
    unloads: 0,
    abandonedLoads: 0,
    keepAliveSeen: [],
    inFlight: 0,
    maxConcurrentInference: 0,
    abortedStreams: 0,
    abortedPulls: 0,
    lastRequests: [],
  };
}

function isFault(value: unknown): value is Fault {
  return (
    isRecord(value) && typeof value['kind'] === 'string' && (FAULT_KINDS as readonly string[]).includes(value['kind'])
  );
}

/** The body as tests want to see it: parsed JSON, else the raw text, else undefined. */
function lenientBody(body: Buffer): unknown {
  if (body.length === 0) {
    return undefined;
  }
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class OllamaEmulator {
  private readonly opts: EmulatorOptions;
  private readonly timers = new TimerSet();
  private readonly catalog: ModelCatalog;
  private readonly scheduler: Scheduler;
  private readonly ctx: EmulatorContext;
  private readonly routes: Route[];
  private readonly sockets = new Set<Socket>();
  private readonly active = new Set<ActiveExchange>();
  private faults: Array<{ fault: Fault; remaining: number }> = [];
  private counters = emptyStats();
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
        loaded: () => {
          this.counters.loads++;
        },
        unloaded: () => {
          this.counters.unloads++;
        },
        abandoned: () => {
          this.counters.abandonedLoads++;
        },
      },
    );
    const custom = {
      keepAlive: {
        kind: 'custom' as const,
        check: (value: unknown): void => {
          parseApiKeepAlive(value);
        },
      },
      think: {
        kind: 'custom' as const,
        check: (value: unknown): void => {
          if (typeof value === 'boolean') {
            return;
          }
          if (typeof value === 'string') {
            if (!['high', 'medium', 'low', 'max'].includes(value)) {
              throw new GoError(
                `invalid think value: ${JSON.stringify(value)} (must be "high", "medium", "low", "max", true, or false)`,
              );
            }
            return;
          }
          throw new GoError('think must be a boolean or string ("high", "medium", "low", "max", true, or false)');
        },
      },
    };
    this.ctx = {
      options: this.opts,
      catalog: this.catalog,
      scheduler: this.scheduler,
      timers: this.timers,
      types: requestTypes(custom),
    };
    this.routes = this.buildRoutes();
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

  /** Listens on `host:port` (port 0 picks a free one). Rejects with the listen error, e.g. EADDRINUSE. */
  async start(port = 0, host = '127.0.0.1'): Promise<void> {
    if (this.server !== undefined) {
      throw new Error('OllamaEmulator is already started');
    }
    const server = createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
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
    if (partial.registry !== undefined) {
      this.catalog.setRegistry(partial.registry);
    }
    if (partial.models !== undefined) {
      this.catalog.setLocal(partial.models);
    }
    for (const [key, value] of Object.entries(partial)) {
      if (value === undefined && key !== 'replyText' && key !== 'structuredReply' && key !== 'accessLog') {
        continue;
      }
      (this.opts as unknown as Record<string, unknown>)[key] = value;
    }
    this.scheduler.wake();
  }

  /** Adds a fault; faults are matched in the order injected, one per request. */
  injectFault(fault: Fault): void {
    this.faults.push({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** A copy of the counters. */
  get stats(): EmulatorStats {
    return structuredClone(this.counters);
  }

  /** Zeroes the counters; `inFlight` keeps counting the requests still running. */
  resetStats(): void {
    const inFlight = this.counters.inFlight;
    this.counters = { ...emptyStats(), inFlight, maxConcurrentInference: inFlight };
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

  private buildRoutes(): Route[] {
    const ctx = this.ctx;
    const unsupported: Handler = (ex) => sendOllamaError(ex.res, 501, 'not supported by the Ollama emulator');
    const route = (path: string, endpoint: EndpointName, methods: Partial<Record<string, Handler>>): Route => ({
      pattern: path.split('/').filter((s) => s !== ''),
      endpoint,
      methods,
    });
    const root: Handler = (ex) => handleRoot(ex);
    const version: Handler = (ex) => handleVersion(ctx, ex);
    const tags: Handler = (ex) => handleTags(ctx, ex);
    return [
      route('/', 'root', { GET: root, HEAD: root }),
      route('/api/version', 'version', { GET: version, HEAD: version }),
      route('/api/status', 'status', { GET: (ex) => handleStatus(ex) }),
      route('/api/tags', 'tags', { GET: tags, HEAD: tags }),
      route('/api/ps', 'ps', { GET: (ex) => handlePs(ctx, ex) }),
      route('/api/show', 'show', { POST: (ex) => handleShow(ctx, ex) }),
      route('/api/pull', 'pull', { POST: (ex, fault) => handlePull(ctx, ex, fault) }),
      route('/api/delete', 'delete', { DELETE: (ex) => handleDelete(ctx, ex) }),
      route('/api/copy', 'copy', { POST: (ex) => handleCopy(ctx, ex) }),
      route('/api/generate', 'generate', { POST: (ex, fault) => handleNativeInference(ctx, ex, 'generate', fault) }),
      route('/api/chat', 'chat', { POST: (ex, fault) => handleNativeInference(ctx, ex, 'chat', fault) }),
      route('/v1/chat/completions', 'openai-chat', { POST: (ex, fault) => handleOpenAiChat(ctx, ex, fault) }),
      route('/v1/models', 'openai-models', { GET: (ex) => handleOpenAiModels(ctx, ex) }),
      route('/v1/models/:model', 'openai-models', { GET: (ex, _fault, param) => handleOpenAiModel(ctx, ex, param) }),
      // Registered by Ollama but not emulated: listed so that the router answers 405 like gin.
      route('/api/push', 'unsupported', { POST: unsupported }),
      route('/api/create', 'unsupported', { POST: unsupported }),
      route('/api/blobs/:digest', 'unsupported', { POST: unsupported, HEAD: unsupported }),
      route('/api/embed', 'unsupported', { POST: unsupported }),
      route('/api/embeddings', 'unsupported', { POST: unsupported }),
      route('/api/me', 'unsupported', { POST: unsupported }),
      route('/api/signout', 'unsupported', { POST: unsupported }),
      route('/api/experimental/web_search', 'unsupported', { POST: unsupported }),
      route('/api/experimental/web_fetch', 'unsupported', { POST: unsupported }),
      route('/v1/completions', 'unsupported', { POST: unsupported }),
      route('/v1/embeddings', 'unsupported', { POST: unsupported }),
      route('/v1/responses', 'unsupported', { POST: unsupported }),
      route('/v1/audio/transcriptions', 'unsupported', { POST: unsupported }),
      route('/v1/messages', 'unsupported', { POST: unsupported }),
    ];
  }

  private match(path: string): { route: Route; param: string } | undefined {
    const segments = path.split('/').filter((s) => s !== '');
    for (const route of this.routes) {
      if (route.pattern.length !== segments.length) {
        continue;
      }
      let param = '';
      const matches = route.pattern.every((part, i) => {
        const segment = segments[i] ?? '';
        if (part.startsWith(':')) {
          param = decodeURIComponent(segment);
          return true;
        }
        return part === segment;
      });
      // gin redirects a trailing slash; here such a path is simply unknown.
      if (matches && (!path.endsWith('/') || path === '/')) {
        return { route, param };
      }
    }
    return undefined;
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
      await this.handleControl(ex);
      return;
    }
    const found = this.match(ex.path);
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
    this.track(ex);
    ex.body = await readBody(ex.req);
    this.record(ex);
    const fault = this.takeFault(ex.endpoint);
    if (fault !== undefined && (await this.applyRequestFault(ex, fault))) {
      return;
    }
    await handler(ex, fault, found.param);
  }

  private track(ex: Exchange): void {
    const counters = this.counters;
    counters.requests[ex.endpoint] = (counters.requests[ex.endpoint] ?? 0) + 1;
    const inference = INFERENCE_ENDPOINTS.includes(ex.endpoint);
    if (inference) {
      counters.inFlight++;
      counters.maxConcurrentInference = Math.max(counters.maxConcurrentInference, counters.inFlight);
    }
    ex.res.on('close', () => {
      // Counted against whatever counters are current, so resetStats() mid-request stays consistent.
      const clientLeft = !ex.res.writableFinished && !ex.closedByServer;
      if (inference) {
        this.counters.inFlight = Math.max(0, this.counters.inFlight - 1);
        if (clientLeft) {
          this.counters.abortedStreams++;
        }
      } else if (ex.endpoint === 'pull' && clientLeft) {
        this.counters.abortedPulls++;
      }
    });
  }

  private record(ex: Exchange): void {
    const body = lenientBody(ex.body);
    if (isRecord(body) && Object.prototype.hasOwnProperty.call(body, 'keep_alive')) {
      this.counters.keepAliveSeen.push(body['keep_alive']);
    }
    this.counters.lastRequests.push({ endpoint: ex.endpoint, body });
    if (this.counters.lastRequests.length > LAST_REQUESTS_KEPT) {
      this.counters.lastRequests.splice(0, this.counters.lastRequests.length - LAST_REQUESTS_KEPT);
    }
  }

  private takeFault(endpoint: EndpointName): Fault | undefined {
    const index = this.faults.findIndex(({ fault }) => (fault.endpoints ?? DEFAULT_FAULT_ENDPOINTS).includes(endpoint));
    const entry = this.faults[index];
    if (entry === undefined) {
      return undefined;
    }
    entry.remaining--;
    if (entry.remaining <= 0) {
      this.faults.splice(index, 1);
    }
    return entry.fault;
  }

  /** Faults that replace the whole answer. Returns false for faults the handler applies itself. */
  private async applyRequestFault(ex: Exchange, fault: Fault): Promise<boolean> {
    const openAi = ex.endpoint === 'openai-chat' || ex.endpoint === 'openai-models';
    const sendError = (status: number, message: string): void =>
      openAi ? sendOpenAiError(ex.res, status, message) : sendOllamaError(ex.res, status, message);
    switch (fault.kind) {
      case 'http-error': {
        const status = fault.status ?? 500;
        const fallback =
          status === 500 ? 'llama-server process has terminated: exit status 2' : `injected ${status} error`;
        sendError(status, fault.message ?? fallback);
        return true;
      }
      case 'busy':
        sendError(503, BUSY_MESSAGE);
        return true;
      case 'hang':
        await untilAborted(ex.signal);
        return true;
      case 'drop-connection':
        ex.closedByServer = true;
        ex.req.socket.destroy();
        return true;
      case 'hang-after-first-chunk':
      case 'mid-stream-error':
      case 'invalid-structured-output':
        return false;
    }
  }

  private async handleControl(ex: Exchange): Promise<void> {
    const action = ex.path.slice(CONTROL_PREFIX.length);
    const key = `${ex.method} ${action}`;
    ex.body = await readBody(ex.req);
    let body: unknown;
    if (ex.body.length > 0) {
      try {
        body = decodeFirstJsonValue(ex.body);
      } catch (err) {
        sendJson(ex.res, 400, { error: err instanceof Error ? err.message : String(err) });
        return;
      }
    }
    switch (key) {
      case 'GET stats':
        sendJson(ex.res, 200, this.stats);
        return;
      case 'POST configure':
        if (!isRecord(body)) {
          sendJson(ex.res, 400, { error: 'expected a JSON object of options' });
          return;
        }
        try {
          this.configure(body);
        } catch (err) {
          sendJson(ex.res, 400, { error: err instanceof Error ? err.message : String(err) });
          return;
        }
        sendJson(ex.res, 200, {
          ...this.options,
          accessLog: undefined,
          replyText: typeof this.opts.replyText === 'string' ? this.opts.replyText : undefined,
        });
        return;
      case 'POST faults':
        if (!isFault(body)) {
          sendJson(ex.res, 400, { error: `expected a fault with kind one of ${FAULT_KINDS.join(', ')}` });
          return;
        }
        this.injectFault(body);
        sendJson(ex.res, 200, { faults: this.faults.length });
        return;
      case 'DELETE faults':
        this.clearFaults();
        sendJson(ex.res, 200, { faults: 0 });
        return;
      case 'POST reset-stats':
        this.resetStats();
        sendJson(ex.res, 200, this.stats);
        return;
      case 'POST unload-all':
        this.unloadAll();
        sendJson(ex.res, 200, { resident: this.residentModels() });
        return;
      default:
        sendJson(ex.res, 404, { error: `unknown emulator control ${key}` });
    }
  }
}
