import type { Backend } from './backend';

/** What routing knows of one backend for one model. */
export interface RouteCandidate {
  /** Up, model warm, circuit not open. */
  canServe: boolean;
  /** Requests in flight for the model there. */
  inFlight: number;
  /** A connection to it failed moments ago: the last choice. */
  suspect?: boolean;
}

/**
 * The backend for the next call to a model: among those that can serve it (up, model warm, circuit not
 * open), and not suspect if any is not, the one with the fewest requests in flight for that model;
 * ties go round robin from `cursor`. Pure, so the routing rule can be read and tested on its own.
 * @returns the index of the chosen backend, or -1 when none can serve.
 */
export function pickBackend(candidates: readonly RouteCandidate[], cursor: number): number {
  let best = -1;
  for (let step = 0; step < candidates.length; step++) {
    const index = (cursor + step) % candidates.length;
    const candidate = candidates[index];
    if (candidate.canServe && (best === -1 || better(candidate, candidates[best]))) {
      best = index;
    }
  }
  return best;
}

function better(candidate: RouteCandidate, than: RouteCandidate): boolean {
  if (Boolean(candidate.suspect) !== Boolean(than.suspect)) {
    return !candidate.suspect;
  }
  return candidate.inFlight < than.inFlight;
}

/**
 * Every Ollama server the gateway fronts (OLLAMA_URLS, or the one OLLAMA_URL), and the routing decision
 * for each call. A single server is a pool of one.
 */
export class BackendPool {
  private cursor = 0;

  constructor(readonly backends: readonly Backend[]) {}

  /**
   * Where the next call to `model` goes, or `undefined` when no backend can serve it now.
   * @param excluded backends not to choose (those a call already tried).
   */
  pick(model: string, excluded?: ReadonlySet<Backend>): Backend | undefined {
    const index = pickBackend(
      this.backends.map((backend) => ({
        canServe: excluded?.has(backend) !== true && backend.canServe(model),
        inFlight: backend.bulkhead(model).inFlight,
        suspect: backend.suspect,
      })),
      this.cursor,
    );
    if (index === -1) {
      return undefined;
    }
    this.cursor = (index + 1) % this.backends.length;
    return this.backends[index];
  }

  /** The backend whose state explains best why `model` cannot be served now (for the refusal's words). */
  closest(model: string): Backend {
    const warm = (backend: Backend): boolean => backend.endpoint.isUp() && backend.lifecycle(model).isReady;
    return (
      this.backends.find((backend) => warm(backend) && backend.policy.circuit !== 'open') ??
      this.backends.find(warm) ??
      this.backends.find((backend) => backend.endpoint.isUp()) ??
      this.backends[0]
    );
  }

  /** A backend whose server answers, for calls that concern no model; rotates like `pick`. */
  anyUp(): Backend | undefined {
    for (let step = 0; step < this.backends.length; step++) {
      const backend = this.backends[(this.cursor + step) % this.backends.length];
      if (backend.endpoint.isUp()) {
        return backend;
      }
    }
    return undefined;
  }

  /** What `model` can do, from the first backend that has told. */
  capabilities(model: string): readonly string[] | undefined {
    for (const backend of this.backends) {
      const known = backend.capabilities(model);
      if (known !== undefined) {
        return known;
      }
    }
    return undefined;
  }

  start(): void {
    for (const backend of this.backends) {
      backend.start();
    }
  }

  closeAdmission(): void {
    for (const backend of this.backends) {
      backend.closeAdmission();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.backends.map((backend) => backend.stop()));
  }
}
