/**
 * A signal that aborts when any of its parents does (with that parent's reason, at once when one
 * already has), and that lets go of its parents when disposed.
 *
 * What `AbortSignal.any` does, without its cost to a long-lived parent: on Node 20 a parent keeps an
 * entry for every signal ever combined from it until the parent itself aborts. A probe that combines
 * the service's lifetime signal every 3 s would grow that parent by one entry per probe for as long
 * as the service runs. Dispose of a `LinkedAbort` when the work it bounds is over.
 */
export class LinkedAbort {
  private readonly controller = new AbortController();
  private readonly parents: AbortSignal[];
  private readonly onParentAbort = (event: Event): void => {
    this.dispose();
    this.controller.abort((event.target as AbortSignal).reason);
  };

  constructor(parents: ReadonlyArray<AbortSignal | undefined>) {
    this.parents = parents.filter((parent): parent is AbortSignal => parent !== undefined);
    const aborted = this.parents.find((parent) => parent.aborted);
    if (aborted !== undefined) {
      this.controller.abort(aborted.reason);
      return;
    }
    for (const parent of this.parents) {
      parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops following the parents; the signal keeps whatever state it has. Safe to call twice. */
  dispose(): void {
    for (const parent of this.parents) {
      parent.removeEventListener('abort', this.onParentAbort);
    }
  }
}
