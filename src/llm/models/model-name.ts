const DEFAULT_REGISTRY = 'registry.ollama.ai/';
const DEFAULT_NAMESPACE = 'library/';

/**
 * Ollama's short form of a model name: `llama3.1` → `llama3.1:latest`,
 * `registry.ollama.ai/library/llama3.1:8b` → `llama3.1:8b`. `/api/tags` and `/api/ps` list names in
 * this form whatever form the request used.
 */
export function normalizeModelName(name: string): string {
  let short = name.trim();
  if (short.startsWith(DEFAULT_REGISTRY)) {
    short = short.slice(DEFAULT_REGISTRY.length);
  }
  if (short.startsWith(DEFAULT_NAMESPACE)) {
    short = short.slice(DEFAULT_NAMESPACE.length);
  }
  const lastSegment = short.slice(short.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? short : `${short}:latest`;
}

export function isSameModel(a: string, b: string): boolean {
  return normalizeModelName(a) === normalizeModelName(b);
}
