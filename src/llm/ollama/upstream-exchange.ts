import type { Dispatcher } from 'undici';

/** How long an exchange may take: a deadline for the whole answer, or a limit on the upstream's silence. */
export type ExchangeLimit =
  | { kind: 'deadline'; ms: number }
  /** Silence before the headers, and while the consumer waits for a chunk; `Infinity` for none. */
  | { kind: 'idle'; ms: number };

export interface ExchangeRequest {
  method: 'GET' | 'POST';
  path: string;
  /** JSON text; absent for a request without a body. */
  body?: string;
}

/** A whole answer, read to its end. */
export interface CollectedAnswer {
  status: number;
  body: Buffer;
}

/** Headers of an answer whose body is read chunk by chunk. */
export interface AnswerHead {
  status: number;
  contentType?: string;
}

/** Queued bytes beyond which the connection stops reading until the consumer catches up. */
const HIGH_WATER_BYTES = 64 * 1024;

const JSON_HEADERS = ['content-type', 'application/json'];

/**
 * One HTTP exchange with Ollama over an undici dispatcher, bounded by the caller's `AbortSignal` and
 * a time limit. It is undici's dispatch handler itself, so that an answer costs no stream objects:
 * `collect()` gathers a whole body into one buffer, `open()` + `chunks()` hand out the body as it
 * comes, reading from the connection only as fast as the consumer takes (the connection is paused
 * beyond 64 KiB queued). Abandoning `chunks()` early aborts the exchange, which closes the
 * connection and so stops Ollama generating. Afterwards `timedOut` and `callerAborted` say why an
 * exchange failed, so that the error undici reports can be classified for what it means.
 *
 * The idle limit is checked lazily: one timer per limit period, whatever the number of chunks, so a
 * token stream pays no timer per token.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private status = 0;
  private contentType?: string;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure?: Error;
  /** Wakes whoever waits: for the headers, the whole body, or the next chunk. */
  private wake?: () => void;
  private timer?: NodeJS.Timeout;
  /**
   * `performance.now()` since when the upstream is awaited: from the request until the consumer takes
   * its first chunk, then whenever the consumer waits for one. Undefined while the time is the consumer's.
   */
  private waitingSince?: number;
  private timedOutFlag = false;
  private abortReason?: Error;
  private headersSeen = false;
  /** While a whole body is gathered, nobody needs waking before its end. */
  private collecting = false;

  constructor(
    private readonly limit: ExchangeLimit,
    private readonly signal: AbortSignal | undefined,
  ) {}

  get timedOut(): boolean {
    return this.timedOutFlag;
  }

  get callerAborted(): boolean {
    return !this.timedOutFlag && this.signal?.aborted === true;
  }

  /** Milliseconds of the limit, for messages. */
  get limitMs(): number {
    return this.limit.ms;
  }

  /**
   * Sends the request and resolves with the whole answer once it has ended.
   * @throws what undici reports, or the reason of an abort; see `timedOut` and `callerAborted`.
   */
  async collect(dispatcher: Dispatcher, request: ExchangeRequest): Promise<CollectedAnswer> {
    this.collecting = true;
    this.start(dispatcher, request);
    while (!this.ended && this.failure === undefined) {
      await this.sleep();
    }
    this.settle();
    if (this.failure !== undefined) {
      throw this.failure;
    }
    return { status: this.status, body: this.queue.length === 1 ? this.queue[0] : Buffer.concat(this.queue) };
  }

  /**
   * Sends the request and resolves once the headers have arrived; read the body with `chunks()` or
   * `readText()`, or give it up with `abandon()`.
   */
  async open(dispatcher: Dispatcher, request: ExchangeRequest): Promise<AnswerHead> {
    this.start(dispatcher, request);
    while (!this.headersSeen && this.failure === undefined) {
      await this.sleep();
    }
    if (this.failure !== undefined) {
      this.settle();
      throw this.failure;
    }
    return { status: this.status, ...(this.contentType !== undefined && { contentType: this.contentType }) };
  }

  /** The body's bytes as they come. Leaving the loop early aborts the exchange. */
  async *chunks(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.failure !== undefined) {
          throw this.failure;
        }
        const chunk = this.queue.shift();
        if (chunk !== undefined) {
          // From here until the consumer asks again, the time is the consumer's, not the upstream's.
          this.waitingSince = undefined;
          this.queuedBytes -= chunk.length;
          if (this.controller?.paused === true && this.queuedBytes < HIGH_WATER_BYTES) {
            this.controller.resume();
          }
          yield chunk;
          continue;
        }
        if (this.ended) {
          return;
        }
        this.waitingSince = performance.now();
        await this.sleep();
      }
    } finally {
      this.abandon();
    }
  }

  /** Reads up to `limit` bytes of the body as text, then gives up the rest. */
  async readText(limit: number): Promise<string> {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.chunks()) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        break;
      }
    }
    return Buffer.concat(parts).toString('utf8').slice(0, limit);
  }

  /** Aborts the exchange unless it has ended (closing its connection) and releases its timer and listener. */
  abandon(): void {
    if (!this.ended && this.failure === undefined) {
      this.failure = new Error('the exchange was abandoned');
      this.abort(this.failure);
    }
    this.settle();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason !== undefined) {
      controller.abort(this.abortReason);
    }
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) {
      // 1xx informational answers are followed by the real one.
      return;
    }
    this.status = statusCode;
    const type = headers['content-type'];
    this.contentType = typeof type === 'string' ? type : undefined;
    this.headersSeen = true;
    if (!this.collecting) {
      this.notify();
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.collecting) {
      return;
    }
    if (this.queuedBytes >= HIGH_WATER_BYTES) {
      controller.pause();
    }
    this.notify();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.notify();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.failure ??= this.abortReason ?? error;
    this.notify();
  }

  private start(dispatcher: Dispatcher, request: ExchangeRequest): void {
    if (this.signal?.aborted === true) {
      throw this.signal.reason instanceof Error ? this.signal.reason : new Error('aborted before the call');
    }
    this.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
    if (Number.isFinite(this.limit.ms)) {
      this.waitingSince = performance.now();
      this.timer = setTimeout(this.onTimer, this.limit.ms);
    }
    dispatcher.dispatch(
      {
        method: request.method,
        path: request.path,
        ...(request.body !== undefined && { body: request.body, headers: JSON_HEADERS }),
        // The limits are this exchange's own: undici's would count the consumer's time as silence.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    );
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private notify(): void {
    const wake = this.wake;
    if (wake !== undefined) {
      this.wake = undefined;
      wake();
    }
  }

  private abort(reason: Error): void {
    this.abortReason ??= reason;
    this.controller?.abort(reason);
    this.notify();
  }

  private settle(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.signal?.removeEventListener('abort', this.onCallerAbort);
  }

  private readonly onCallerAbort = (): void => {
    const reason = this.signal?.reason as unknown;
    this.failure ??= reason instanceof Error ? reason : new Error('aborted by the caller');
    this.abort(this.failure);
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.ended || this.failure !== undefined) {
      return;
    }
    const now = performance.now();
    // A deadline counts from the start; silence only while someone waits on the upstream.
    const since = this.limit.kind === 'deadline' ? now - this.limit.ms : this.waitingSince;
    const remaining = since === undefined ? this.limit.ms : since + this.limit.ms - now;
    if (remaining > 1) {
      this.timer = setTimeout(this.onTimer, remaining);
      return;
    }
    this.timedOutFlag = true;
    this.failure = new Error(`no answer within ${this.limit.ms} ms`);
    this.abort(this.failure);
  };
}
