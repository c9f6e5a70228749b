/**
 * Generates requests that the contract refuses, from a seeded PRNG so that a failure reproduces.
 * Every generated request is invalid by construction: it breaks at least one rule of CONTRACT §2 (or of
 * HTTP/JSON itself), so the only right answer is a 4xx.
 */

/** mulberry32: small, fast and good enough to spread test cases. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }
}

/** JSON text inserted verbatim: numbers JSON.stringify cannot write (-0, 1e400), deep nesting. */
export class Raw {
  constructor(readonly text: string) {}
}

/** Replaced by invalid UTF-8 bytes when the body is encoded. */
const BAD_UTF8 = '\u0000BAD-UTF8\u0000';

const BAD_UTF8_SEQUENCES: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xe0, 0x80, 0xaf]), // overlong '/'
  Buffer.from([0xed, 0xa0, 0x80]), // lone high surrogate
  Buffer.from([0xed, 0xbf, 0xbf]), // lone low surrogate
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
  Buffer.from([0xe2, 0x82]), // truncated sequence
  Buffer.from([0x80, 0x80, 0x80]), // continuation bytes alone
];

type Json = Record<string, unknown>;
type Mutation = (body: Json, rng: Prng) => void;

/** Sets a key as an own, enumerable property, even `__proto__`. */
function setKey(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Serialises with `Raw` verbatim and own keys in order (an own `__proto__` included). */
export function serialize(value: unknown): string {
  if (value instanceof Raw) {
    return value.text;
  }
  if (Array.isArray(value)) {
    return `[${value.map(serialize).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${serialize((value as Json)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function encode(text: string, rng: Prng): Buffer {
  const parts = text.split(BAD_UTF8);
  const chunks: Buffer[] = [];
  parts.forEach((part, index) => {
    if (index > 0) {
      chunks.push(rng.pick(BAD_UTF8_SEQUENCES));
    }
    chunks.push(Buffer.from(part, 'utf8'));
  });
  return Buffer.concat(chunks);
}

/** A value of any JSON type, small. */
function anyValue(rng: Prng): unknown {
  return rng.pick<() => unknown>([
    () => rng.int(-1000, 1000),
    () => rng.next() * 1e308,
    () => new Raw('-0'),
    () => new Raw('1e400'),
    () => 'NaN',
    () => 'Infinity',
    () => '',
    () => 'x'.repeat(rng.int(1, 100)),
    () => null,
    () => true,
    () => false,
    () => [],
    () => [1, 'two', null],
    () => ({}),
    () => ({ nested: { deeper: [1, 2, 3] } }),
  ])();
}

/** A value that is not a string. */
function notString(rng: Prng): unknown {
  return rng.pick<unknown>([
    0,
    1.5,
    -1,
    1e308,
    new Raw('-0'),
    new Raw('1e400'),
    null,
    true,
    false,
    [],
    ['x'],
    {},
    { a: 'x' },
  ]);
}

/** A value that is not a finite number. */
function notNumber(rng: Prng): unknown {
  return rng.pick<unknown>([
    '1',
    'NaN',
    'Infinity',
    '-Infinity',
    '',
    null,
    true,
    [],
    [1],
    {},
    { value: 1 },
    new Raw('1e400'),
    new Raw('-1e400'),
  ]);
}

function notInteger(rng: Prng): unknown {
  return rng.pick<unknown>([0.5, 1.5, -2.25, 1e-7, ...[notNumber(rng)]]);
}

function notBoolean(rng: Prng): unknown {
  return rng.pick<unknown>(['true', 'false', 1, 0, new Raw('-0'), null, [], {}, 'yes']);
}

function notArray(rng: Prng): unknown {
  return rng.pick<unknown>(['[]', 1, null, true, {}, { 0: 'a', length: 1 }]);
}

function notObject(rng: Prng): unknown {
  return rng.pick<unknown>(['{}', 1, null, true, [], [{}], 'object']);
}

/** Text of mixed scripts, escapes and an emoji: for values within their limits. */
function text(rng: Prng, length: number): string {
  const pieces = ['abc', ' ', 'ü', 'é', '中', '😀', '\\', '"', '\n', '\t', 'xyz'];
  let result = '';
  while (result.length < length) {
    result += rng.pick(pieces);
  }
  return result;
}

/**
 * Text of exactly `length` characters however they are counted: no surrogate pairs, which the length
 * checks count as one character. For values over their limits.
 */
function longText(rng: Prng, length: number): string {
  const alphabet = 'abc xyz ü é 中 \\ " \n \t';
  let result = '';
  while (result.length < length) {
    result += alphabet[rng.int(0, alphabet.length - 1)];
  }
  return result.slice(0, length);
}

export type ErrorShape = 'contract' | 'openai';

export interface FuzzRoute {
  path: string;
  errorShape: ErrorShape;
  /** A fresh body the route accepts. */
  valid(rng: Prng): Json;
  /** Each breaks one rule of the route's body, in place. */
  violations: readonly Mutation[];
  /** The objects in `body` that refuse keys they do not know. */
  strictObjects(body: Json): Json[];
  /** A field every valid body has, and a value for it that is always wrong. */
  required: string;
  wrongRequired(rng: Prng): unknown;
}

function objectsIn(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((item): item is Json => typeof item === 'object' && item !== null) : [];
}

export const CHAT_ROUTE: FuzzRoute = {
  path: '/chat',
  errorShape: 'contract',
  valid: (rng) => {
    const body: Json = { message: text(rng, rng.int(1, 50)) };
    if (rng.chance(0.5)) {
      body.system = text(rng, rng.int(0, 30));
    }
    if (rng.chance(0.5)) {
      body.history = Array.from({ length: rng.int(1, 3) }, () => ({
        role: rng.pick(['system', 'user', 'assistant']),
        content: text(rng, rng.int(0, 20)),
      }));
    }
    if (rng.chance(0.5)) {
      body.options = { temperature: 0.5, top_p: 0.9, num_predict: 16, seed: 7 };
    }
    if (rng.chance(0.3)) {
      body.stream = rng.chance(0.5);
    }
    return body;
  },
  violations: [
    (body) => delete body.message,
    (body, rng) => (body.message = notString(rng)),
    (body) => (body.message = ''),
    (body, rng) => (body.message = longText(rng, 32_001 + rng.int(0, 5_000))),
    (body, rng) => (body.system = notString(rng)),
    (body, rng) => (body.system = longText(rng, 32_001)),
    (body, rng) => (body.history = notArray(rng)),
    (body, rng) =>
      (body.history = Array.from({ length: 101 + rng.int(0, 50) }, () => ({ role: 'user', content: 'x' }))),
    (body, rng) => (body.history = [{ role: 'user', content: 'x' }, notObject(rng)]),
    (body, rng) =>
      (body.history = [{ role: rng.pick(['root', 'User', '', 'tool', 'NaN', 0, null, ['user']]), content: 'x' }]),
    (body, rng) => (body.history = [{ role: 'user', content: notString(rng) }]),
    (body) => (body.history = [{ role: 'user' }]),
    (body) => (body.history = [{ content: 'x' }]),
    (body, rng) => (body.history = [{ role: 'assistant', content: longText(rng, 32_001) }]),
    (body, rng) => (body.options = notObject(rng)),
    (body, rng) => (body.options = { temperature: notNumber(rng) }),
    (body, rng) => (body.options = { temperature: rng.pick([-0.0001, 2.0001, 1e308, -1e308, 3, -1]) }),
    (body, rng) => (body.options = { top_p: rng.pick([-0.5, 1.0001, 1e308, 2, notNumber(rng)]) }),
    (body, rng) =>
      (body.options = { num_predict: rng.pick([0, new Raw('-0'), -1, 8193, 1e308, 1.5, notInteger(rng)]) }),
    (body, rng) => (body.options = { seed: rng.pick([1.5, 2 ** 53, -(2 ** 53), 1e308, notInteger(rng)]) }),
    (body, rng) => (body.stream = notBoolean(rng)),
  ],
  strictObjects: (body) => [
    body,
    ...(typeof body.options === 'object' && body.options !== null ? [body.options as Json] : []),
    ...objectsIn(body.history),
  ],
  required: 'message',
  wrongRequired: notString,
};

export const RISK_ROUTE: FuzzRoute = {
  path: '/risk/assess',
  errorShape: 'contract',
  valid: (rng) => {
    const body: Json = { subject: text(rng, rng.int(1, 40)) };
    if (rng.chance(0.5)) {
      body.question = text(rng, rng.int(0, 40));
    }
    if (rng.chance(0.5)) {
      body.evidence = Array.from({ length: rng.int(1, 3) }, () => ({
        text: text(rng, rng.int(1, 40)),
        source: 'filing',
        date: '2026-10-30',
      }));
    }
    if (rng.chance(0.5)) {
      body.prices = Array.from({ length: rng.int(3, 20) }, () => 1 + rng.next() * 100);
    }
    if (rng.chance(0.5)) {
      body.horizonDays = rng.int(1, 365);
    }
    return body;
  },
  violations: [
    (body) => delete body.subject,
    (body, rng) => (body.subject = notString(rng)),
    (body) => (body.subject = ''),
    (body, rng) => (body.subject = longText(rng, 201 + rng.int(0, 1_000))),
    (body, rng) => (body.question = notString(rng)),
    (body, rng) => (body.question = longText(rng, 2_001)),
    (body, rng) => (body.evidence = notArray(rng)),
    (body) => (body.evidence = Array.from({ length: 51 }, () => ({ text: 'x' }))),
    (body, rng) => (body.evidence = [{ text: 'x' }, notObject(rng)]),
    (body, rng) => (body.evidence = [{ text: rng.pick(['', notString(rng)]) }]),
    (body) => (body.evidence = [{ source: 'no text' }]),
    (body, rng) => (body.evidence = [{ text: longText(rng, 10_001) }]),
    (body, rng) => (body.evidence = [{ text: 'x', source: rng.pick([longText(rng, 501), notString(rng)]) }]),
    (body, rng) =>
      (body.evidence = [
        {
          text: 'x',
          date: rng.pick(['2026-13-45', 'yesterday', '30/10/2026', '', '2026-02-30T25:00', 20261030, null]),
        },
      ]),
    (body, rng) => (body.prices = notArray(rng)),
    (body, rng) => (body.prices = rng.pick([[], [1], [1, 2]])),
    (body) => (body.prices = Array.from({ length: 10_001 }, (_, index) => 1 + index)),
    (body, rng) => (body.prices = [1, 2, rng.pick([0, -1, new Raw('-0'), -1e308, new Raw('1e400'), notNumber(rng)])]),
    (body, rng) => (body.horizonDays = rng.pick([0, new Raw('-0'), 366, 1.5, 1e308, -1, notInteger(rng)])),
  ],
  strictObjects: (body) => [body, ...objectsIn(body.evidence)],
  required: 'subject',
  wrongRequired: notString,
};

/** A value from `pick` other than null. */
function nonNull(rng: Prng, pick: (rng: Prng) => unknown): unknown {
  for (;;) {
    const value = pick(rng);
    if (value !== null) {
      return value;
    }
  }
}

/**
 * The OpenAI-compatible route refuses unknown top-level fields and wrongly typed known ones; like
 * OpenAI, it reads `null` as "not given", so no violation here is a null.
 */
export const OPENAI_CHAT_ROUTE: FuzzRoute = {
  path: '/v1/chat/completions',
  errorShape: 'openai',
  valid: (rng) => ({
    model: 'llama3.1:latest',
    messages: [{ role: 'user', content: text(rng, rng.int(1, 40)) }],
  }),
  violations: [
    (body) => delete body.messages,
    (body, rng) => (body.messages = nonNull(rng, notArray)),
    (body, rng) => (body.messages = [nonNull(rng, notObject)]),
    (body, rng) => (body.messages = [{ role: rng.pick(['root', '', 0, null, 'tool-ish']), content: 'x' }]),
    (body, rng) => (body.model = nonNull(rng, notString)),
    (body, rng) => (body.temperature = rng.pick([-1, 2.5, 1e308, nonNull(rng, notNumber)])),
    (body, rng) => (body.top_p = rng.pick([-1, 1.5, nonNull(rng, notNumber)])),
    (body, rng) => (body.stream = nonNull(rng, notBoolean)),
    (body, rng) => (body.max_tokens = rng.pick([0, -5, 1.5, 1e308, nonNull(rng, notInteger)])),
  ],
  strictObjects: (body) => [body],
  required: 'messages',
  wrongRequired: (rng) => nonNull(rng, notArray),
};

export interface MalformedRequest {
  /** What was done, for the failure message. */
  label: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Statuses the contract allows for this request. */
  expected: readonly number[];
  errorShape: ErrorShape;
}

const JSON_TYPE = 'application/json';
const UNKNOWN_KEYS = [
  'extra',
  'x',
  '',
  ' ',
  'message ',
  'MESSAGE',
  '$where',
  '0',
  'a.b',
  '\u0000',
  '😀',
  'k'.repeat(5_000),
];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

function withViolation(route: FuzzRoute, rng: Prng): { body: Json; label: string } {
  const body = route.valid(rng);
  const count = rng.int(1, 3);
  const applied: number[] = [];
  for (let i = 0; i < count; i++) {
    const index = rng.int(0, route.violations.length - 1);
    route.violations[index](body, rng);
    applied.push(index);
  }
  return { body, label: `violations ${applied.join(',')}` };
}

function withUnknownKey(route: FuzzRoute, rng: Prng, keys: readonly string[], value: () => unknown): Json {
  const body = route.valid(rng);
  const target = rng.pick(route.strictObjects(body));
  setKey(target, rng.pick(keys), value());
  return body;
}

function pollutionValue(rng: Prng): unknown {
  return rng.pick<unknown>([
    { polluted: 'yes' },
    { prototype: { polluted: 'yes' } },
    { toString: 'x', valueOf: 1 },
    'polluted',
    1,
    null,
    [],
    [{ polluted: 'yes' }],
  ]);
}

function deepNesting(rng: Prng): Raw {
  const depth = rng.pick([100, 1_000, 10_000, 50_000]);
  return rng.chance(0.5)
    ? new Raw(`${'['.repeat(depth)}${']'.repeat(depth)}`)
    : new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
}

function post(
  route: FuzzRoute,
  label: string,
  body: Buffer,
  expected: readonly number[] = [400],
  contentType?: string,
): MalformedRequest {
  return {
    label,
    method: 'POST',
    path: route.path,
    headers:
      contentType === undefined
        ? { 'content-type': JSON_TYPE }
        : contentType === ''
          ? {}
          : { 'content-type': contentType },
    body,
    expected,
    errorShape: route.errorShape,
  };
}

function utf8(value: unknown): Buffer {
  return Buffer.from(serialize(value), 'utf8');
}

type Generator = (route: FuzzRoute, rng: Prng, bodyLimitBytes: number) => MalformedRequest;

/** Each generator makes one kind of malformed request; weights say how often it is chosen. */
const GENERATORS: ReadonlyArray<[number, string, Generator]> = [
  [
    30,
    'field',
    (route, rng) => {
      const { body, label } = withViolation(route, rng);
      return post(route, `field ${label}`, utf8(body));
    },
  ],
  [
    8,
    'unknown key',
    (route, rng) => post(route, 'unknown key', utf8(withUnknownKey(route, rng, UNKNOWN_KEYS, () => anyValue(rng)))),
  ],
  [
    10,
    'prototype key',
    (route, rng) =>
      post(route, 'prototype key', utf8(withUnknownKey(route, rng, PROTO_KEYS, () => pollutionValue(rng)))),
  ],
  [
    5,
    'not an object',
    (route, rng) => {
      const top = rng.pick<unknown>([
        [],
        [route.valid(rng)],
        'body',
        0,
        1e308,
        null,
        true,
        new Raw('-0'),
        new Raw('1e400'),
      ]);
      return post(route, 'top-level value that is not an object', utf8(top));
    },
  ],
  [
    10,
    'truncated',
    (route, rng) => {
      const full = serialize(route.valid(rng));
      return post(route, 'truncated JSON', Buffer.from(full.slice(0, rng.int(0, full.length - 1)), 'utf8'));
    },
  ],
  [
    10,
    'invalid UTF-8',
    (route, rng) => {
      // Bad bytes in a key, inside a string or between tokens; the body breaks a rule besides.
      const where = rng.int(0, 2);
      if (where === 0) {
        const body = withUnknownKey(route, rng, [`key${BAD_UTF8}`], () => 1);
        return post(route, 'invalid UTF-8 in a key', encode(serialize(body), rng));
      }
      const { body, label } = withViolation(route, rng);
      if (where === 1) {
        setKey(rng.pick(route.strictObjects(body)), 'note', `before${BAD_UTF8}after`);
        return post(route, `invalid UTF-8 in a string, ${label}`, encode(serialize(body), rng));
      }
      // Before, just inside or after the outer braces: outside every string, so it cannot turn a wrong value right.
      const textual = serialize(body);
      const at = rng.pick([0, 1, textual.length - 1, textual.length]);
      return post(
        route,
        `invalid UTF-8 between tokens, ${label}`,
        encode(`${textual.slice(0, at)}${BAD_UTF8}${textual.slice(at)}`, rng),
      );
    },
  ],
  [
    8,
    'content type',
    (route, rng) => {
      const contentType = rng.pick([
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/xml',
        'application/octet-stream',
        'application/jsonx',
        'json',
        '',
      ]);
      // Text and form bodies are parsed (as a string, as fields), then refused as not the body the route takes.
      const expected = ['text/plain', 'application/x-www-form-urlencoded'].includes(contentType) ? [400, 415] : [415];
      const body = rng.chance(0.5) ? route.valid(rng) : withViolation(route, rng).body;
      return post(route, `Content-Type ${JSON.stringify(contentType)}`, utf8(body), expected, contentType);
    },
  ],
  [
    3,
    'garbage',
    (route, rng) => {
      const bytes = Buffer.alloc(rng.int(1, 2_000));
      for (let i = 0; i < bytes.length; i++) {
        bytes[i] = rng.int(0, 255);
      }
      // A leading '#' is never valid JSON, whatever follows.
      bytes[0] = 0x23;
      return post(route, 'random bytes', bytes);
    },
  ],
  [
    4,
    'huge',
    (route, rng, bodyLimitBytes) => {
      if (rng.chance(0.2)) {
        const body = route.valid(rng);
        body.padding = 'p'.repeat(bodyLimitBytes);
        return post(route, 'body over the limit', utf8(body), [413]);
      }
      const body = route.valid(rng);
      const target = rng.pick(route.strictObjects(body));
      setKey(
        target,
        rng.pick(['huge', 'k'.repeat(rng.int(1, 100_000))]),
        rng.pick<unknown>([
          new Raw(`1${'0'.repeat(rng.int(309, 5_000))}`),
          new Raw(`0.${'0'.repeat(rng.int(400, 5_000))}1`),
          'v'.repeat(rng.int(10_000, 200_000)),
          Array.from({ length: rng.int(1_000, 20_000) }, () => 0),
        ]),
      );
      return post(route, 'huge value under an unknown key', utf8(body));
    },
  ],
  [
    4,
    'deep',
    (route, rng) => {
      if (rng.chance(0.3)) {
        return post(route, 'deeply nested top level', utf8(deepNesting(rng)));
      }
      const body = route.valid(rng);
      setKey(rng.pick(route.strictObjects(body)), 'deep', deepNesting(rng));
      return post(route, 'deeply nested unknown key', utf8(body));
    },
  ],
  [
    2,
    'duplicate keys',
    (route, rng) => {
      // The wrong copy of a required field comes last, and JSON.parse keeps the last.
      const valid = serialize(route.valid(rng)).slice(0, -1);
      const wrong = `${JSON.stringify(route.required)}:${serialize(route.wrongRequired(rng))}`;
      return post(route, 'duplicate keys', Buffer.from(`${valid},${wrong}}`, 'utf8'));
    },
  ],
];

const JUNK_QUERIES = [
  '?a[b][c]=1',
  '?__proto__[polluted]=yes',
  '?constructor[prototype][polluted]=yes',
  '?__proto__.polluted=yes',
  '?%zz=%',
  '?%ff%fe=%00',
  '?=&&==&',
  `?q=${'x'.repeat(4_000)}`,
  '?a=1&a=2&a=3',
  '?%F0%9F%98%80=%E0%80%AF',
];

/** Public GET routes answer 200 whatever the query; junk in it must not change that. */
export function junkQuery(path: string, rng: Prng, headers: Record<string, string>): MalformedRequest {
  const query = Array.from({ length: rng.int(1, 3) }, () => rng.pick(JUNK_QUERIES).slice(1)).join('&');
  return {
    label: 'junk query',
    method: 'GET',
    path: `${path}?${query}`,
    headers,
    expected: [200],
    errorShape: 'contract',
  };
}

/** One malformed request for one of `routes`, as `rng` decides. */
export function malformedRequest(routes: readonly FuzzRoute[], rng: Prng, bodyLimitBytes: number): MalformedRequest {
  const total = GENERATORS.reduce((sum, [weight]) => sum + weight, 0);
  let roll = rng.next() * total;
  const route = rng.pick(routes);
  for (const [weight, , generate] of GENERATORS) {
    roll -= weight;
    if (roll < 0) {
      return generate(route, rng, bodyLimitBytes);
    }
  }
  return GENERATORS[0][2](route, rng, bodyLimitBytes);
}
