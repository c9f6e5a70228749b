/** The two kinds of target a benchmark sends chats to: the emulator directly, and a service. */
import { BenchClient } from './http';
import type { Target } from './measure';
import type { EmulatorProcess, ServiceProcess } from './processes';

/** The user message of every overhead measurement. */
export const MESSAGE = 'Explain duration risk in two sentences.';

/** `n` tokens as the emulator cuts them (short words with their leading space). */
export function fixedReply(n: number): string {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'word' : ' word')).join('');
}

/**
 * Emulator options for a fixed upstream latency: a fixed reply of `tokens` tokens, each after
 * `upstreamMs / tokens`, and no limit on parallel requests, so the emulator never queues what the
 * load generator sends. (The emulator has no single "latency" knob; this is the cleanest equivalent.)
 */
export function fixedLatencyEmulator(upstreamMs: number, tokens: number, loadTimeMs: number) {
  return { loadTimeMs, tokenDelayMs: upstreamMs / tokens, replyText: fixedReply(tokens), numParallel: 0 };
}

/** The body the service sent for its last chat, so that direct requests are the very same request. */
export function upstreamChatBody(emulator: EmulatorProcess): Promise<Record<string, unknown>> {
  return upstreamBody(emulator, 'chat');
}

/** The body of the last request the emulator saw at `endpoint` (`chat`, `embed`, ...). */
export async function upstreamBody(emulator: EmulatorProcess, endpoint: string): Promise<Record<string, unknown>> {
  const stats = await emulator.stats();
  const last = stats.lastRequests.filter((r) => r.endpoint === endpoint).pop()?.body;
  if (typeof last !== 'object' || last === null) {
    throw new Error(`the emulator saw no ${endpoint} request from the service`);
  }
  return last as Record<string, unknown>;
}

function ndjsonFirstLine(text: string): boolean {
  return text.includes('\n');
}

function sseFirstDelta(text: string): boolean {
  const at = text.indexOf('data: {"delta"');
  return at >= 0 && text.indexOf('\n\n', at) >= 0;
}

export function directTarget(emulator: EmulatorProcess, body: Record<string, unknown>): Target {
  return {
    name: 'direct',
    url: emulator.url,
    path: '/api/chat',
    body,
    streamBody: { ...body, stream: true },
    isFirstPiece: ndjsonFirstLine,
    processes: [emulator],
  };
}

export function serviceTarget(name: string, service: ServiceProcess, emulator: EmulatorProcess): Target {
  return {
    name,
    url: service.url,
    path: '/chat',
    body: { message: MESSAGE },
    streamBody: { message: MESSAGE, stream: true },
    isFirstPiece: sseFirstDelta,
    checkStream: (text) => {
      if (!text.includes('event: done')) {
        throw new Error(`${name}'s stream ended without event: done: ${text.slice(-300)}`);
      }
    },
    processes: [service, emulator],
  };
}

/** A route of the service and the same request sent straight to the emulator. */
export interface RoutePair {
  name: string;
  direct: Target;
  service: Target;
}

/** The embedding model the emulator and the services serve in the benchmarks of `/v1/embeddings`. */
export const EMBEDDING_MODEL = 'nomic-embed-text:latest';

/** `POST /v1/embeddings` of one short input, and the Ollama route it goes to. */
export function embeddingsRoute(model: string) {
  return { path: '/v1/embeddings', body: { model, input: MESSAGE }, endpoint: 'embed', upstreamPath: '/api/embed' };
}

/**
 * The service's `POST <path>` with `body`, paired with what the service sent the emulator for it
 * (`endpoint`'s last request). Undefined, with the reason, when the service does not answer it with
 * 200 (a route this tree does not have, a model it does not serve).
 */
export async function routePair(
  service: ServiceProcess,
  emulator: EmulatorProcess,
  route: { path: string; body: unknown; endpoint: string; upstreamPath: string },
): Promise<{ pair?: RoutePair; note?: string }> {
  const client = new BenchClient(service.url);
  try {
    const probe = await client.postJson(route.path, route.body);
    if (probe.status !== 200) {
      return { note: `${route.path} answered ${probe.status} in this tree` };
    }
  } finally {
    client.close();
  }
  const upstream = await upstreamBody(emulator, route.endpoint);
  return {
    pair: {
      name: route.path,
      direct: { name: 'direct', url: emulator.url, path: route.upstreamPath, body: upstream, processes: [emulator] },
      service: {
        name: route.path,
        url: service.url,
        path: route.path,
        body: route.body,
        processes: [service, emulator],
      },
    },
  };
}
