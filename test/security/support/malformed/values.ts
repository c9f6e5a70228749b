/** Values of the wrong type, and texts within or over the length limits. */
import type { Prng } from './prng';
import { Raw } from './json-text';

/** A value of any JSON type, small. */
export function anyValue(rng: Prng): unknown {
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
export function notString(rng: Prng): unknown {
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
export function notNumber(rng: Prng): unknown {
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

export function notInteger(rng: Prng): unknown {
  return rng.pick<unknown>([0.5, 1.5, -2.25, 1e-7, ...[notNumber(rng)]]);
}

export function notBoolean(rng: Prng): unknown {
  return rng.pick<unknown>(['true', 'false', 1, 0, new Raw('-0'), null, [], {}, 'yes']);
}

export function notArray(rng: Prng): unknown {
  return rng.pick<unknown>(['[]', 1, null, true, {}, { 0: 'a', length: 1 }]);
}

export function notObject(rng: Prng): unknown {
  return rng.pick<unknown>(['{}', 1, null, true, [], [{}], 'object']);
}

/** Text of mixed scripts, escapes and an emoji: for values within their limits. */
export function text(rng: Prng, length: number): string {
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
export function longText(rng: Prng, length: number): string {
  const alphabet = 'abc xyz ü é 中 \\ " \n \t';
  let result = '';
  while (result.length < length) {
    result += alphabet[rng.int(0, alphabet.length - 1)];
  }
  return result.slice(0, length);
}

/** A value from `pick` other than null. */
export function nonNull(rng: Prng, pick: (rng: Prng) => unknown): unknown {
  for (;;) {
    const value = pick(rng);
    if (value !== null) {
      return value;
    }
  }
}
