import { EmbeddingVectors } from '../embedding-vectors';
import { OllamaClientError } from './ollama-client.errors';

/** What the service takes from an answer of `POST /api/embed`. */
export interface EmbedAnswer {
  vectors: EmbeddingVectors;
  /** `prompt_eval_count`, 0 when absent. */
  promptTokens: number;
}

const NOT_JSON = 'Ollama answered /api/embed with something that is not JSON';
const NOT_VECTORS = 'Ollama answered /api/embed with embeddings that are not arrays of numbers';

/** JSON's whitespace, nothing else. */
const WHITESPACE = /[ \t\n\r]*/y;
/** A string as it is written; its escapes are left to `JSON.parse` (the members other than the vectors). */
const STRING = /"(?:[^"\\]|\\.)*"/y;
const NUMBER = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?';
const SPACE = '[ \\t\\n\\r]*';
/** One vector: an array of JSON numbers and nothing else. */
const VECTOR = new RegExp(`\\[${SPACE}(?:${NUMBER}(?:${SPACE},${SPACE}${NUMBER})*${SPACE})?\\]`, 'y');

/**
 * Reads Ollama's `{"model":…,"embeddings":[[…],…],…,"prompt_eval_count":N}` without turning the
 * vectors into numbers: each vector's text is checked to be an array of JSON numbers and kept as it
 * is (see `EmbeddingVectors`). The rest of the object, the vectors left out, goes through `JSON.parse`,
 * so an answer that is not JSON is refused as before.
 * @throws OllamaClientError `protocol` for an answer that is not JSON, has no `embeddings`, or holds
 *   anything but arrays of numbers there.
 */
export function readEmbedAnswer(body: Buffer): EmbedAnswer {
  // One byte per character, so offsets are byte offsets. Bytes above 0x7f only occur inside strings.
  const text = body.toString('latin1');
  let pos = skipWhitespace(text, 0);
  if (text[pos] !== '{') {
    throw new OllamaClientError('protocol', NOT_JSON);
  }
  pos = skipWhitespace(text, pos + 1);
  let found: { start: number; end: number; bounds: number[] } | undefined;
  while (text[pos] !== '}') {
    const keyEnd = endOfString(text, pos);
    const key = text.slice(pos, keyEnd);
    pos = skipWhitespace(text, keyEnd);
    if (text[pos] !== ':') {
      throw new OllamaClientError('protocol', NOT_JSON);
    }
    pos = skipWhitespace(text, pos + 1);
    if (key === '"embeddings"') {
      if (found !== undefined) {
        throw new OllamaClientError('protocol', 'Ollama answered /api/embed with two embeddings members');
      }
      const start = pos;
      const bounds: number[] = [];
      pos = readVectors(text, pos, bounds);
      found = { start, end: pos, bounds };
    } else {
      pos = skipValue(text, pos);
    }
    pos = skipWhitespace(text, pos);
    if (text[pos] === ',') {
      pos = skipWhitespace(text, pos + 1);
    } else if (text[pos] !== '}') {
      throw new OllamaClientError('protocol', NOT_JSON);
    }
  }
  if (found === undefined) {
    throw new OllamaClientError('protocol', 'Ollama answered /api/embed without embeddings');
  }
  const rest = parseRest(`${body.toString('utf8', 0, found.start)}[]${body.toString('utf8', found.end)}`);
  const count = rest['prompt_eval_count'];
  return {
    vectors: EmbeddingVectors.fromCheckedText(body, found.bounds),
    promptTokens: typeof count === 'number' && Number.isFinite(count) ? count : 0,
  };
}

/** `[` vectors `]`, each vector's range pushed onto `bounds`; returns the offset after the `]`. */
function readVectors(text: string, from: number, bounds: number[]): number {
  if (text[from] !== '[') {
    throw new OllamaClientError('protocol', NOT_VECTORS);
  }
  let pos = skipWhitespace(text, from + 1);
  if (text[pos] === ']') {
    return pos + 1;
  }
  for (;;) {
    VECTOR.lastIndex = pos;
    if (!VECTOR.test(text)) {
      throw new OllamaClientError('protocol', NOT_VECTORS);
    }
    bounds.push(pos, VECTOR.lastIndex);
    pos = skipWhitespace(text, VECTOR.lastIndex);
    if (text[pos] === ']') {
      return pos + 1;
    }
    if (text[pos] !== ',') {
      throw new OllamaClientError('protocol', NOT_VECTORS);
    }
    pos = skipWhitespace(text, pos + 1);
  }
}

/**
 * The offset just after a value of any kind, found by its brackets and strings. It only has to be
 * right for valid JSON: whatever it passes over is checked by `JSON.parse` afterwards.
 */
function skipValue(text: string, from: number): number {
  let pos = from;
  let depth = 0;
  while (pos < text.length) {
    const char = text[pos];
    if (char === '"') {
      pos = endOfString(text, pos);
      continue;
    }
    if (char === '{' || char === '[') {
      depth += 1;
    } else if (char === '}' || char === ']') {
      if (depth === 0) {
        return pos;
      }
      depth -= 1;
    } else if (depth === 0 && (char === ',' || char === ' ' || char === '\t' || char === '\n' || char === '\r')) {
      return pos;
    }
    pos += 1;
  }
  throw new OllamaClientError('protocol', NOT_JSON);
}

function endOfString(text: string, from: number): number {
  STRING.lastIndex = from;
  if (text[from] !== '"' || !STRING.test(text)) {
    throw new OllamaClientError('protocol', NOT_JSON);
  }
  return STRING.lastIndex;
}

function skipWhitespace(text: string, from: number): number {
  WHITESPACE.lastIndex = from;
  WHITESPACE.test(text);
  return WHITESPACE.lastIndex;
}

function parseRest(json: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new OllamaClientError('protocol', NOT_JSON);
  }
  return parsed as Record<string, unknown>;
}
