import { TaskCancelledError } from 'cockatiel';
import type { LlmOutcome } from '../metrics/metrics.service';
import type { Deferred } from '../common/deferred';
import type { InferenceCall } from './inference-call';
import type { InferenceMetrics } from './inference-metrics';
import type { LlmStreamEvent, LlmTimings } from './llm.types';
import type { OllamaStreamEvent } from './ollama/ollama-client';
import { outcomeOf, UpstreamErrors } from './upstream-errors';

export interface RelayContext {
  errors: UpstreamErrors;
  metrics: InferenceMetrics;
  /** Milliseconds a stream nobody starts reading may hold its slot (OLLAMA_TIMEOUT). */
  unclaimedTimeoutMs: number;
}

/** How one kind of stream is relayed. */
export interface RelayShape<I, O> {
  /** What the caller gets for one upstream item; `undefined` for nothing. */
  map(item: I): O | undefined;
  /** Whether `item` completes the answer (the stream counts as a success from there). */
  isLast(item: I): boolean;
  /** Called when the upstream ended by itself, without error. */
  onEnd?(): void;
  /**
   * Whether the answer itself reported a failure at its end (relayed bytes carry Ollama's `{"error"}`
   * line as they are): the call then counts as an error in the metrics. Not for the circuit breaker:
   * on Ollama's own API such a line is often the answer to the caller's own request (a bad field), and
   * a caller must not be able to open the circuit for everyone.
   */
  failedAtEnd?(): boolean;
}

/**
 * The caller's side of a streamed call: each upstream item mapped for the caller, timed (the first one
 * is the first token) and failures mapped to domain errors. `streamEnd` settles when the stream ends,
 * however it ends, so that the circuit breaker can judge the whole stream. A stream that nobody starts
 * reading within `unclaimedTimeoutMs`, or whose call is aborted before, is closed and its slot given back.
 */
export function relay<I, O>(
  upstream: AsyncGenerator<I>,
  call: InferenceCall,
  streamEnd: Deferred,
  context: RelayContext,
  shape: RelayShape<I, O>,
): AsyncIterable<O> {
  let phase: 'unclaimed' | 'claimed' | 'abandoned' = 'unclaimed';
  const abandon = (): void => {
    if (phase !== 'unclaimed') {
      return;
    }
    phase = 'abandoned';
    clearTimeout(unclaimed);
    call.abort('client');
    void upstream.return(undefined);
    streamEnd.resolve();
    call.finish('aborted');
  };
  const unclaimed = setTimeout(abandon, context.unclaimedTimeoutMs);
  call.signal.addEventListener('abort', abandon, { once: true });

  async function* items(): AsyncGenerator<O> {
    if (phase === 'unclaimed') {
      phase = 'claimed';
      clearTimeout(unclaimed);
      call.signal.removeEventListener('abort', abandon);
    }
    if (phase === 'abandoned') {
      throw context.errors.map(new TaskCancelledError(), call, true);
    }
    let outcome: LlmOutcome = 'aborted';
    let sawFirst = false;
    try {
      for await (const item of upstream) {
        if (shape.isLast(item)) {
          outcome = 'success';
          streamEnd.resolve();
        } else if (!sawFirst) {
          sawFirst = true;
          context.metrics.firstToken(call);
        }
        const out = shape.map(item);
        if (out !== undefined) {
          yield out;
        }
      }
      outcome = shape.failedAtEnd?.() === true ? 'error' : 'success';
      shape.onEnd?.();
    } catch (error) {
      const mapped = context.errors.map(error, call, true);
      outcome = outcomeOf(mapped);
      streamEnd.reject(error);
      throw mapped;
    } finally {
      // Also reached when the consumer leaves early, which is no failure of Ollama's.
      streamEnd.resolve();
      call.finish(outcome);
    }
  }
  return items();
}

/** A streamed chat: Ollama's events, with the call's queue time added to the result and its tokens counted. */
export function relayStream(
  upstream: AsyncGenerator<OllamaStreamEvent>,
  call: InferenceCall,
  streamEnd: Deferred,
  context: RelayContext,
): AsyncIterable<LlmStreamEvent> {
  return relay<OllamaStreamEvent, LlmStreamEvent>(upstream, call, streamEnd, context, {
    isLast: (event) => event.type === 'done',
    map: (event) => {
      if (event.type !== 'done') {
        return event;
      }
      context.metrics.tokens(event.result.usage);
      return { type: 'done', result: { ...event.result, timings: withQueueTime(event.result.timings, call.queueMs) } };
    },
  });
}

/** Ollama's timings of a call, with the time it waited for a slot (milliseconds, two decimals). */
export function withQueueTime(timings: Omit<LlmTimings, 'queueMs'>, queueMs: number): LlmTimings {
  const { totalMs, ...rest } = timings;
  return { totalMs, queueMs: Math.round(queueMs * 100) / 100, ...rest };
}
