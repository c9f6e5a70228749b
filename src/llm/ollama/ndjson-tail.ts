import type { LlmUsage } from '../llm.types';

/** How much of the end of an answer is kept: Ollama's last line (the one with the counts) fits easily. */
const TAIL_BYTES = 8 * 1024;

/**
 * Keeps the end of an NDJSON answer that is relayed as bytes, so that the token counts of its last
 * object (`prompt_eval_count`, `eval_count`) can be read once it has ended, without parsing the rest.
 */
export class NdjsonTail {
  private tail: Buffer = Buffer.alloc(0);
  /** The last complete object, once read (`null`: there is none); reset by every chunk. */
  private lastObject?: Record<string, unknown> | null;

  /** Remembers the end of `chunk` and gives it back unchanged. */
  keep(chunk: Buffer): Buffer {
    const joined = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = joined.length > TAIL_BYTES ? joined.subarray(joined.length - TAIL_BYTES) : joined;
    this.lastObject = undefined;
    return chunk;
  }

  /** The counts of the last complete object; zeros when there are none. */
  usage(): LlmUsage {
    const last = this.last();
    return {
      promptTokens: typeof last?.prompt_eval_count === 'number' ? last.prompt_eval_count : 0,
      completionTokens: typeof last?.eval_count === 'number' ? last.eval_count : 0,
    };
  }

  /** Whether Ollama's last line reported a failure (`{"error":"…"}`). */
  failed(): boolean {
    const last = this.last();
    return last !== undefined && 'error' in last;
  }

  private last(): Record<string, unknown> | undefined {
    this.lastObject ??= this.readLast();
    return this.lastObject ?? undefined;
  }

  private readLast(): Record<string, unknown> | null {
    const text = this.tail.toString('utf8').trim();
    try {
      const parsed = JSON.parse(text.slice(text.lastIndexOf('\n') + 1)) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
}
