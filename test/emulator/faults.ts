/** Faults tests inject: failures Ollama shows in the wild, applied to the next matching requests. */
import { isRecord, sendOllamaError, sendOpenAiError, type Exchange } from './http-util';
import { untilAborted } from './timers';
import type { EndpointName, Fault, FaultKind } from './types';

/** Ollama's `ErrMaxQueue` text, two spaces after the full stop included. */
export const BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';

const DEFAULT_FAULT_ENDPOINTS: readonly EndpointName[] = ['chat', 'generate'];

export const FAULT_KINDS: readonly FaultKind[] = [
  'http-error',
  'busy',
  'hang',
  'hang-after-first-chunk',
  'mid-stream-error',
  'invalid-structured-output',
  'drop-connection',
];

export function isFault(value: unknown): value is Fault {
  return (
    isRecord(value) && typeof value['kind'] === 'string' && (FAULT_KINDS as readonly string[]).includes(value['kind'])
  );
}

/** Injected faults, matched in the order injected, one per request. */
export class FaultQueue {
  private faults: Array<{ fault: Fault; remaining: number }> = [];

  get size(): number {
    return this.faults.length;
  }

  add(fault: Fault): void {
    this.faults.push({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.faults = [];
  }

  /** The first fault that targets `endpoint`, used up by one request. */
  take(endpoint: EndpointName): Fault | undefined {
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
}

/** Applies a fault that replaces the whole answer. Returns false for faults the handler applies itself. */
export async function applyRequestFault(ex: Exchange, fault: Fault): Promise<boolean> {
  const openAi = ex.endpoint.startsWith('openai-');
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
