/** What reached the emulator: request counters, per-model counters and records of the last requests. */
import { isRecord, type Exchange } from './http-util';
import { modelKey, normaliseModelName } from './model-names';
import {
  INFERENCE_ENDPOINTS,
  type EmulatorStats,
  type ModelStats,
  type RequestFilter,
  type RequestRecord,
} from './types';

const LAST_REQUESTS_KEPT = 50;

export function emptyStats(): EmulatorStats {
  return {
    requests: {},
    models: {},
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

function imageCount(body: Record<string, unknown>): number {
  const count = (images: unknown): number => (Array.isArray(images) ? images.length : 0);
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  return messages.reduce<number>((sum, m) => sum + (isRecord(m) ? count(m['images']) : 0), count(body['images']));
}

/** The counters key of a model name: its short normalised form in lower case (names compare so). */
function statsKey(model: string): string {
  return modelKey(normaliseModelName(model) ?? model);
}

function matches(record: RequestRecord, filter: RequestFilter): boolean {
  if (filter.endpoint !== undefined && record.endpoint !== filter.endpoint) {
    return false;
  }
  if (filter.model === undefined) {
    return true;
  }
  return record.model !== undefined && statsKey(record.model) === statsKey(filter.model);
}

export class Recorder {
  private counters = emptyStats();

  /** A copy of the counters. */
  get stats(): EmulatorStats {
    return structuredClone(this.counters);
  }

  /** Zeroes the counters; `inFlight` keeps counting the requests still running. */
  reset(): void {
    const inFlight = this.counters.inFlight;
    this.counters = { ...emptyStats(), inFlight, maxConcurrentInference: inFlight };
  }

  /** Counts a routed request as it arrives, and its end (or its client leaving) when it closes. */
  track(ex: Exchange): void {
    const counters = this.counters;
    counters.requests[ex.endpoint] = (counters.requests[ex.endpoint] ?? 0) + 1;
    const inference = INFERENCE_ENDPOINTS.includes(ex.endpoint);
    if (inference) {
      counters.inFlight++;
      counters.maxConcurrentInference = Math.max(counters.maxConcurrentInference, counters.inFlight);
    }
    ex.res.on('close', () => {
      // Counted against whatever counters are current, so reset() mid-request stays consistent.
      const clientLeft = !ex.res.writableFinished && !ex.closedByServer;
      const record = ex.record;
      if (record !== undefined) {
        record.status = ex.res.writableFinished ? ex.res.statusCode : 499;
        record.aborted = clientLeft;
      }
      if (inference) {
        this.counters.inFlight = Math.max(0, this.counters.inFlight - 1);
        if (clientLeft) {
          this.counters.abortedStreams++;
          if (record?.model !== undefined) {
            this.modelStats(record.model).aborted++;
          }
        }
      } else if (ex.endpoint === 'pull' && clientLeft) {
        this.counters.abortedPulls++;
      }
    });
  }

  /** Keeps what the request's body carried, once it has been read. */
  record(ex: Exchange): void {
    const body = lenientBody(ex.body);
    const record: RequestRecord = {
      endpoint: ex.endpoint,
      method: ex.method,
      path: ex.path,
      body,
      images: 0,
      aborted: false,
    };
    if (isRecord(body)) {
      const model = typeof body['model'] === 'string' && body['model'] !== '' ? body['model'] : body['name'];
      if (typeof model === 'string') {
        record.model = model;
        const perModel = this.modelStats(model);
        perModel.requests[ex.endpoint] = (perModel.requests[ex.endpoint] ?? 0) + 1;
      }
      const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(body, key);
      if (has('keep_alive')) {
        record.keepAlive = body['keep_alive'];
        this.counters.keepAliveSeen.push(body['keep_alive']);
      }
      for (const [key, field] of [
        ['options', 'options'],
        ['tools', 'tools'],
        ['format', 'format'],
        ['response_format', 'format'],
        ['stream', 'stream'],
      ] as const) {
        if (has(key)) {
          record[field] = body[key];
        }
      }
      record.images = imageCount(body);
    }
    ex.record = record;
    const kept = this.counters.lastRequests;
    kept.push(record);
    if (kept.length > LAST_REQUESTS_KEPT) {
      kept.splice(0, kept.length - LAST_REQUESTS_KEPT);
    }
  }

  loaded(model: string): void {
    this.counters.loads++;
    this.modelStats(model).loads++;
  }

  unloaded(model: string): void {
    this.counters.unloads++;
    this.modelStats(model).unloads++;
  }

  abandoned(): void {
    this.counters.abandonedLoads++;
  }

  /** Copies of the kept records (the last 50) that match, oldest first. */
  requests(filter: RequestFilter): RequestRecord[] {
    return structuredClone(this.counters.lastRequests.filter((record) => matches(record, filter)));
  }

  /** Requests counted since the last reset that match (not limited to the kept records). */
  count(filter: RequestFilter): number {
    if (filter.model === undefined) {
      const { requests } = this.counters;
      return filter.endpoint === undefined
        ? Object.values(requests).reduce((sum, n) => sum + n, 0)
        : (requests[filter.endpoint] ?? 0);
    }
    const perModel = this.counters.models[statsKey(filter.model)];
    if (perModel === undefined) {
      return 0;
    }
    const { requests } = perModel;
    return filter.endpoint === undefined
      ? Object.values(requests).reduce((sum, n) => sum + (n ?? 0), 0)
      : (requests[filter.endpoint] ?? 0);
  }

  private modelStats(model: string): ModelStats {
    const key = statsKey(model);
    const existing = this.counters.models[key];
    if (existing !== undefined) {
      return existing;
    }
    const created: ModelStats = { requests: {}, loads: 0, unloads: 0, aborted: 0 };
    this.counters.models[key] = created;
    return created;
  }
}
