import { MAX_BODY_DEPTH, unsafeBodyProblem } from './body-shape';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) {
    value = i % 2 === 0 ? { a: value } : [value];
  }
  return value;
}

describe(unsafeBodyProblem.name, () => {
  it('accepts the bodies of the API', () => {
    expect(
      unsafeBodyProblem({ message: 'hi', history: [{ role: 'user', content: 'x' }], options: { seed: 1 } }),
    ).toBeUndefined();
    expect(unsafeBodyProblem('a string body')).toBeUndefined();
    expect(unsafeBodyProblem(null)).toBeUndefined();
    expect(unsafeBodyProblem(undefined)).toBeUndefined();
  });

  it('names a reserved key wherever it is', () => {
    expect(unsafeBodyProblem({ constructor: 'x' })).toMatch(/^property constructor is not accepted/);
    expect(unsafeBodyProblem({ history: [{ role: 'user', prototype: {} }] })).toMatch(
      /^property history\[0\]\.prototype is not accepted/,
    );
    expect(unsafeBodyProblem(JSON.parse('{"a":{"b":[{"__proto__":{"polluted":1}}]}}'))).toMatch(
      /^property a\.b\[0\]\.__proto__ is not accepted/,
    );
  });

  it('accepts reserved words as values and inside longer keys', () => {
    expect(unsafeBodyProblem({ message: '__proto__', constructorName: 'prototype' })).toBeUndefined();
  });

  it('refuses nesting deeper than the limit, without exhausting the stack itself', () => {
    expect(unsafeBodyProblem(nested(MAX_BODY_DEPTH))).toBeUndefined();
    expect(unsafeBodyProblem(nested(MAX_BODY_DEPTH + 1))).toBe(
      `request body nests deeper than ${MAX_BODY_DEPTH} levels`,
    );
    expect(unsafeBodyProblem(nested(200_000))).toBe(`request body nests deeper than ${MAX_BODY_DEPTH} levels`);
  });
});
