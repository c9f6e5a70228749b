/** The two kinds of target a benchmark sends chats to: the emulator directly, and a service. */
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
export async function upstreamChatBody(emulator: EmulatorProcess): Promise<Record<string, unknown>> {
  const stats = await emulator.stats();
  const last = stats.lastRequests.filter((r) => r.endpoint === 'chat').pop()?.body;
  if (typeof last !== 'object' || last === null) {
    throw new Error('the emulator saw no chat request from the service');
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

export function directTarget(emulator: EmulatorProcess, upstreamBody: Record<string, unknown>): Target {
  return {
    name: 'direct',
    url: emulator.url,
    path: '/api/chat',
    body: upstreamBody,
    streamBody: { ...upstreamBody, stream: true },
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
