import { performance } from 'node:perf_hooks';
import type { LlmOutcome } from '../metrics/metrics.service';
import type { Backend } from './backends/backend';
import type { ReleaseSlot } from './bulkhead';

/** Why a call's signal fired: its own client went away, or the service is shutting down. */
export type AbortCause = 'client' | 'shutdown';

/**
 * One admitted inference call: the model and backend it runs on, its abort signal, its slot and its
 * timing. It is finished exactly once, however it ends; `ended` settles then.
 */
export class InferenceCall {
  private readonly controller = new AbortController();
  private releaseSlot?: ReleaseSlot;
  private finished = false;
  private resolveEnded!: () => void;
  /** Settles when the call has finished, however it finished. */
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));
  abortedBy?: AbortCause;
  queueMs = 0;
  /** Tells the model lifecycle that this call has ended. */
  private endUse?: () => void;

  constructor(
    readonly endpoint: string,
    readonly model: string,
    /** Where the call runs; another backend when it moved after a failure there. */
    public backend: Backend,
    /** `performance.now()` when the request arrived, before it waited for a slot. */
    readonly arrivedAt: number,
    private readonly clientSignal: AbortSignal | undefined,
    private readonly onFinish: (call: InferenceCall, outcome: LlmOutcome) => void,
    /** The HTTP request the call serves, for the log lines about it. */
    readonly requestId?: string,
  ) {
    if (clientSignal?.aborted) {
      this.abort('client');
    } else {
      clientSignal?.addEventListener('abort', this.onClientAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The call holds a slot from now on; its queue time ends here. */
  hold(release: ReleaseSlot): void {
    this.releaseSlot = release;
    this.queueMs = performance.now() - this.arrivedAt;
  }

  /** Moves the call to `backend`, where it holds the slot `release` gives back; its old slot is freed. */
  moveTo(backend: Backend, release: ReleaseSlot): void {
    this.releaseSlot?.();
    this.endUse?.();
    this.backend = backend;
    this.releaseSlot = release;
    this.begin();
  }

  /** The call is running on the model from now on (keep-warm has nothing to refresh meanwhile). */
  begin(): void {
    this.endUse = this.backend.lifecycle(this.model).beginUse();
  }

  abort(cause: AbortCause): void {
    if (!this.controller.signal.aborted) {
      this.abortedBy = cause;
      this.controller.abort(new Error(cause === 'client' ? 'the client went away' : 'the service is shutting down'));
    }
  }

  /** Gives the slot back and records the outcome; only the first call counts. */
  finish(outcome: LlmOutcome): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    this.clientSignal?.removeEventListener('abort', this.onClientAbort);
    this.releaseSlot?.();
    this.endUse?.();
    this.onFinish(this, outcome);
    this.resolveEnded();
  }

  private readonly onClientAbort = (): void => this.abort('client');
}
