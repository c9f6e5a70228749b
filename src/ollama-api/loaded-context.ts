import { performance } from 'node:perf_hooks';

/** How long one reading of `/api/ps` answers for: short, so that a reload shows up soon. */
export const CONTEXT_LENGTH_TTL_MS = 2_000;

/**
 * The context length each served model is loaded with, read from Ollama's `/api/ps` only when a
 * request asks (one that carries `num_ctx`), and kept for {@link CONTEXT_LENGTH_TTL_MS} so that a
 * burst of such requests costs one reading. A failed reading is not kept.
 */
export class LoadedContextLengths {
  private cached?: { at: number; lengths: Promise<ReadonlyMap<string, number>> };

  constructor(
    /** Reads `/api/ps`: the context length by served model (configured name). */
    private readonly read: () => Promise<ReadonlyMap<string, number>>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The context length `model` (a configured name) is loaded with; `undefined` when it is not loaded. */
  async of(model: string): Promise<number | undefined> {
    if (this.cached === undefined || this.now() - this.cached.at > CONTEXT_LENGTH_TTL_MS) {
      const lengths = this.read();
      const entry = { at: this.now(), lengths };
      this.cached = entry;
      lengths.catch(() => {
        if (this.cached === entry) {
          this.cached = undefined;
        }
      });
    }
    return (await this.cached.lengths).get(model);
  }
}
