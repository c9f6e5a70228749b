/**
 * Streamed answers read by many clients at once: each stream's time to its first token and the gaps
 * between its tokens, taken when the bytes arrive. A token is one piece of generated text in the
 * stream's own framing (an NDJSON line of Ollama's, an SSE event of the service's), so the three
 * targets of the streaming benchmark count the same tokens.
 */
import { Agent, request } from 'node:http';

/** How a target frames its stream: which complete piece of text carries a token. */
export interface StreamFraming {
  /** Splits off the complete units (lines, events) of `text`; the rest waits for more bytes. */
  split(text: string): { units: string[]; rest: string };
  /** Whether a unit carries generated text. */
  isToken(unit: string): boolean;
  /** Whether a unit ends the answer as it should. */
  isEnd(unit: string): boolean;
}

export const NDJSON: StreamFraming = {
  split(text) {
    const units = text.split('\n');
    const rest = units.pop() ?? '';
    return { units: units.filter((line) => line !== ''), rest };
  },
  isToken: (line) => !line.includes('"done":true') && !line.includes('"content":""'),
  isEnd: (line) => line.includes('"done":true'),
};

function sseUnits(text: string): { units: string[]; rest: string } {
  const units = text.split('\n\n');
  const rest = units.pop() ?? '';
  return { units: units.filter((unit) => unit !== ''), rest };
}

/** The service's `/chat` stream: `data: {"delta": ...}` events, then `event: done`. */
export const CHAT_SSE: StreamFraming = {
  split: sseUnits,
  isToken: (event) => event.startsWith('data: {"delta"'),
  isEnd: (event) => event.startsWith('event: done'),
};

/** OpenAI's stream: chunks with `delta.content`, then `data: [DONE]`. */
export const OPENAI_SSE: StreamFraming = {
  split: sseUnits,
  isToken: (event) => event.startsWith('data: {') && /"delta":\{[^}]*"content":"[^"]/.test(event),
  isEnd: (event) => event === 'data: [DONE]',
};

export interface StreamTiming {
  /** Milliseconds from writing the request to the arrival of the first token. */
  firstTokenMs: number;
  /** Milliseconds between the arrivals of consecutive tokens. */
  gapsMs: number[];
  tokens: number;
  totalMs: number;
}

const STREAM_TIMEOUT_MS = 120_000;

/**
 * Starts `count` streamed requests at once (one connection each) and resolves with their timings once
 * every one has ended. Fails when any answers other than 200 or ends without its last unit.
 */
export async function runStreams(
  url: string,
  body: unknown,
  framing: StreamFraming,
  count: number,
  agent: Agent,
): Promise<StreamTiming[]> {
  const payload = JSON.stringify(body);
  const target = new URL(url);
  return Promise.all(Array.from({ length: count }, () => oneStream(target, payload, framing, agent)));
}

function oneStream(url: URL, payload: string, framing: StreamFraming, agent: Agent): Promise<StreamTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const arrivals: number[] = [];
    let ended = false;
    let rest = '';
    const req = request(
      {
        agent,
        method: 'POST',
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: STREAM_TIMEOUT_MS,
      },
      (res) => {
        res.setEncoding('utf8');
        let errorText = '';
        res.on('data', (chunk: string) => {
          const now = performance.now();
          if (res.statusCode !== 200) {
            errorText += chunk;
            return;
          }
          const split = framing.split(rest + chunk);
          rest = split.rest;
          for (const unit of split.units) {
            if (framing.isToken(unit)) {
              arrivals.push(now);
            } else if (framing.isEnd(unit)) {
              ended = true;
            }
          }
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`${url.pathname} answered ${res.statusCode}: ${errorText.slice(0, 300)}`));
            return;
          }
          if (!ended || arrivals.length === 0) {
            reject(new Error(`${url.pathname}'s stream ended without its last event or without tokens`));
            return;
          }
          resolve({
            firstTokenMs: (arrivals[0] ?? Number.NaN) - started,
            gapsMs: arrivals.slice(1).map((at, i) => at - (arrivals[i] ?? at)),
            tokens: arrivals.length,
            totalMs: performance.now() - started,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`a stream took longer than ${STREAM_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
