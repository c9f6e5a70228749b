/** The kinds of malformed request, chosen by weight, and junk queries for the public GET routes. */
import type { Prng } from './prng';
import { BAD_UTF8, Raw, encode, serialize, setKey, utf8, type Json } from './json-text';
import type { ErrorShape, FuzzRoute } from './routes';
import { anyValue } from './values';

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
      // Only JSON is read on these routes: anything else, text and forms included, is refused unread.
      const expected = [415];
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
