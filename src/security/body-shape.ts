/** Names that reach `Object.prototype` when a body is merged or assigned somewhere; never a field of this API. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The deepest nesting accepted. The API's own bodies nest a few levels (OpenAI's `response_format`
 * schemas a few more); deeper bodies only serve to exhaust the stack of recursive code downstream.
 */
export const MAX_BODY_DEPTH = 64;

function pathOf(parent: string, key: string | number): string {
  if (typeof key === 'number') {
    return `${parent}[${key}]`;
  }
  return parent === '' ? key : `${parent}.${key}`;
}

/**
 * What makes a parsed JSON body unsafe to hand to the validation and the handlers, in words for the
 * caller, or `undefined` when nothing does: a reserved key at any level, or nesting deeper than
 * `maxDepth`. Walks iteratively, so a deep body cannot exhaust the stack here either.
 */
export function unsafeBodyProblem(body: unknown, maxDepth = MAX_BODY_DEPTH): string | undefined {
  if (typeof body !== 'object' || body === null) {
    return undefined;
  }
  // Only containers are queued: a long array of numbers costs one pass and no allocation.
  const pending: Array<{ value: object; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path, depth } = next;
    if (depth >= maxDepth) {
      return `request body nests deeper than ${maxDepth} levels`;
    }
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => {
        if (typeof item === 'object' && item !== null) {
          pending.push({ value: item, path: pathOf(path, index), depth: depth + 1 });
        }
      });
      continue;
    }
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (RESERVED_KEYS.has(key)) {
        return `property ${pathOf(path, key)} is not accepted: __proto__, constructor and prototype are reserved names`;
      }
      if (typeof item === 'object' && item !== null) {
        pending.push({ value: item, path: pathOf(path, key), depth: depth + 1 });
      }
    }
  }
  return undefined;
}
