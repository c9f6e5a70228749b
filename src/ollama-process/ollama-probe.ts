import * as http from 'node:http';
import * as https from 'node:https';
import type { OllamaConfig } from '../config/configuration';
import { errorText } from '../common/errors';
import { LinkedAbort } from '../common/linked-abort';

/** How long one probe request may take, connection included. */
export const PROBE_TIMEOUT_MS = 2_000;
/** Probe answers are tiny; anything longer is not Ollama's and is cut. */
const MAX_BODY_BYTES = 64 * 1024;
const OLLAMA_BANNER = 'Ollama is running';

/** What answers at the Ollama URL. `detail` is a short operator-facing reason. */
export type ProbeResult =
  | { readonly kind: 'ollama'; readonly version: string }
  /** Something answers HTTP there, but not as Ollama does. */
  | { readonly kind: 'foreign'; readonly detail: string }
  /** A connection was accepted but no answer came within the probe timeout. */
  | { readonly kind: 'silent'; readonly detail: string }
  /** Nothing accepts connections there (refused, unreachable, unknown host). */
  | { readonly kind: 'unreachable'; readonly detail: string };

export type VersionResult =
  { readonly ok: true; readonly version: string } | { readonly ok: false; readonly detail: string };

interface Answer {
  status: number;
  body: string;
}

class ProbeFailure extends Error {
  constructor(
    readonly kind: 'foreign' | 'silent' | 'unreachable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A tiny HTTP probe of the Ollama URL: `GET /` and `GET /api/version`, each bounded by
 * {@link PROBE_TIMEOUT_MS}, on a fresh connection each time so that a restarted server is seen at once.
 * The Ollama API itself belongs to the LLM module's client.
 */
export class OllamaProbe {
  private readonly url: URL;

  constructor(config: Pick<OllamaConfig, 'url'>) {
    this.url = new URL(config.url);
  }

  /** Tells whether Ollama, something else or nothing answers. Never throws. */
  async identify(signal?: AbortSignal): Promise<ProbeResult> {
    let root: Answer;
    try {
      root = await this.get('/', signal);
    } catch (error) {
      return failure(error);
    }
    if (root.status !== 200 || root.body.trim() !== OLLAMA_BANNER) {
      return { kind: 'foreign', detail: `GET / answered ${root.status} ${JSON.stringify(root.body.slice(0, 60))}` };
    }
    const version = await this.version(signal);
    return version.ok ? { kind: 'ollama', version: version.version } : { kind: 'foreign', detail: version.detail };
  }

  /** `GET /api/version`: the server's version when it answers as Ollama does. Never throws. */
  async version(signal?: AbortSignal): Promise<VersionResult> {
    let answer: Answer;
    try {
      answer = await this.get('/api/version', signal);
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
    if (answer.status === 200) {
      try {
        const body = JSON.parse(answer.body) as { version?: unknown };
        if (typeof body.version === 'string') {
          return { ok: true, version: body.version };
        }
      } catch {
        // not JSON: reported below
      }
    }
    return { ok: false, detail: `GET /api/version answered ${answer.status} without a version` };
  }

  private get(path: string, signal?: AbortSignal): Promise<Answer> {
    // A timer cleared with the answer, unlike `AbortSignal.timeout`'s, which would wake an idle process
    // once more after every probe.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), PROBE_TIMEOUT_MS);
    timer.unref();
    const timeout = deadline.signal;
    // Not `AbortSignal.any`: the caller's signal is the service's lifetime, combined every 3 s.
    const link = new LinkedAbort([signal, timeout]);
    const abort = link.signal;
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      let connected = false;
      const request = client.get(new URL(path, this.url), { agent: false, signal: abort }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) {
            chunks.push(chunk);
          }
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        response.on('error', (error) => reject(classify(error, connected, abort, timeout)));
      });
      request.on('socket', (socket) => socket.once('connect', () => (connected = true)));
      request.on('error', (error) => reject(classify(error, connected, abort, timeout)));
    }).finally(() => {
      clearTimeout(timer);
      link.dispose();
    });
  }
}

function classify(error: Error, connected: boolean, abort: AbortSignal, timeout: AbortSignal): ProbeFailure {
  const seconds = PROBE_TIMEOUT_MS / 1000;
  if (abort.aborted && timeout.aborted) {
    return connected
      ? new ProbeFailure('silent', `accepted the connection but did not answer within ${seconds} s`)
      : new ProbeFailure('unreachable', `did not accept a connection within ${seconds} s`);
  }
  if (abort.aborted) {
    return new ProbeFailure('unreachable', 'probe cancelled');
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (connected) {
    return new ProbeFailure('foreign', `accepted the connection but did not answer HTTP (${code ?? error.message})`);
  }
  return new ProbeFailure('unreachable', code === 'ECONNREFUSED' ? 'connection refused' : (code ?? error.message));
}

function failure(error: unknown): ProbeResult {
  if (error instanceof ProbeFailure) {
    return { kind: error.kind, detail: error.message };
  }
  return { kind: 'unreachable', detail: errorText(error) };
}
