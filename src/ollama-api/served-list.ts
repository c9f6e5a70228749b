/** Ollama's answer to `/api/tags` or `/api/ps`: `models` and whatever else Ollama adds. */
export interface ModelList {
  models: unknown[];
  [field: string]: unknown;
}

/** The names an entry of Ollama's list goes by (`model` and `name`, the same in today's Ollama). */
function namesOf(entry: unknown): string[] {
  if (typeof entry !== 'object' || entry === null) {
    return [];
  }
  const { model, name } = entry as { model?: unknown; name?: unknown };
  return [model, name].filter((value): value is string => typeof value === 'string');
}

/**
 * Ollama's `/api/tags` or `/api/ps` answer with only the entries `isServed` accepts by one of their
 * names, each entry and every other field left as Ollama wrote them; `undefined` when the answer is not
 * Ollama's `{"models": [...]}`.
 */
export function servedOnly(answer: unknown, isServed: (name: string) => boolean): ModelList | undefined {
  if (typeof answer !== 'object' || answer === null || !Array.isArray((answer as ModelList).models)) {
    return undefined;
  }
  const list = answer as ModelList;
  return { ...list, models: list.models.filter((entry) => namesOf(entry).some(isServed)) };
}

/**
 * The context length (`context_length` of `/api/ps`) of every loaded entry, by the name `configuredName`
 * gives it (the served model's configured name; `undefined` for a model that is not served).
 */
export function loadedContextLengths(
  answer: unknown,
  configuredName: (name: string) => string | undefined,
): Map<string, number> {
  const lengths = new Map<string, number>();
  for (const entry of servedOnly(answer, () => true)?.models ?? []) {
    const length = (entry as { context_length?: unknown }).context_length;
    const served = namesOf(entry)
      .map(configuredName)
      .find((name) => name !== undefined);
    if (served !== undefined && typeof length === 'number') {
      lengths.set(served, length);
    }
  }
  return lengths;
}
