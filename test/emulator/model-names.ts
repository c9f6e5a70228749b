/** Ollama's model-name rules (`types/model/name.go`): parsing, the short display form and the full name. */

export const DEFAULT_HOST = 'registry.ollama.ai';
export const DEFAULT_NAMESPACE = 'library';

const HOST_PART = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,349}$/;
const NAME_PART = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,79}$/;
const TAG_PART = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,79}$/;

export interface ModelName {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

/** Ollama's `model.ParseName` followed by `IsValid()`; undefined for an invalid name. */
export function parseModelName(raw: string): ModelName | undefined {
  let rest = raw;
  const at = rest.indexOf('@');
  if (at >= 0) {
    rest = rest.slice(0, at);
  }
  let tag = 'latest';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const model = parts.pop() ?? '';
  const namespace = parts.length > 0 ? (parts.pop() ?? '') : DEFAULT_NAMESPACE;
  const host = parts.length > 0 ? parts.join('/') : DEFAULT_HOST;
  if (!HOST_PART.test(host) || !NAME_PART.test(namespace) || !NAME_PART.test(model) || !TAG_PART.test(tag)) {
    return undefined;
  }
  return { host, namespace, model, tag };
}

/** `DisplayShortest`: `llama3.2` → `llama3.2:latest`; other hosts and namespaces stay visible. */
export function displayName(name: ModelName): string {
  if (name.host === DEFAULT_HOST && name.namespace === DEFAULT_NAMESPACE) {
    return `${name.model}:${name.tag}`;
  }
  if (name.host === DEFAULT_HOST) {
    return `${name.namespace}/${name.model}:${name.tag}`;
  }
  return `${name.host}/${name.namespace}/${name.model}:${name.tag}`;
}

/** The short normalised name, or undefined when Ollama would call the name invalid. */
export function normaliseModelName(raw: string): string | undefined {
  const parsed = parseModelName(raw);
  return parsed === undefined ? undefined : displayName(parsed);
}

/** Names compare case-insensitively in Ollama. */
export function modelKey(normalised: string): string {
  return normalised.toLowerCase();
}

/** `Name.String()`: every part spelled out, e.g. `registry.ollama.ai/library/llama3.2:latest`. */
export function fullModelName(normalised: string): string {
  const parsed = parseModelName(normalised);
  return parsed === undefined ? normalised : `${parsed.host}/${parsed.namespace}/${parsed.model}:${parsed.tag}`;
}
