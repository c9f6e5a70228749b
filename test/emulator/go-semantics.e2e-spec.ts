import { decodeFirstJsonValue, EmptyBodyError } from './go-json';
import {
  FOREVER_NS,
  formatGoDuration,
  GoError,
  parseApiKeepAlive,
  parseEnvKeepAlive,
  parseGoDuration,
} from './keep-alive';
import { normaliseModelName } from './model-names';
import { tokenize } from './reply';
import { sampleFromSchema } from './schema-sample';

const SECOND = 1_000_000_000n;

function goError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof GoError) {
      return err.message;
    }
    throw err;
  }
  throw new Error('expected a GoError');
}

describe('Go semantics used by the emulator', () => {
  describe('time.ParseDuration', () => {
    it.each([
      ['0', 0n],
      ['-0', 0n],
      ['300ms', 300_000_000n],
      ['10m', 600n * SECOND],
      ['1h30m', 5400n * SECOND],
      ['1.5s', 1_500_000_000n],
      ['.5s', 500_000_000n],
      ['2h45m30.5s', 9930n * SECOND + 500_000_000n],
      ['-1m', -60n * SECOND],
      ['+5s', 5n * SECOND],
      ['1us', 1_000n],
      ['1\u00b5s', 1_000n],
      ['7ns', 7n],
    ])('parses %s', (input, expected) => {
      expect(parseGoDuration(input)).toBe(expected);
    });

    it.each([
      ['-1', 'time: missing unit in duration "-1"'],
      ['300', 'time: missing unit in duration "300"'],
      ['1h30', 'time: missing unit in duration "1h30"'],
      ['', 'time: invalid duration ""'],
      ['abc', 'time: invalid duration "abc"'],
      ['.s', 'time: invalid duration ".s"'],
      ['5d', 'time: unknown unit "d" in duration "5d"'],
      ['99999999999h', 'time: invalid duration "99999999999h"'],
    ])("rejects %j with Go's message", (input, message) => {
      expect(goError(() => parseGoDuration(input))).toBe(message);
    });
  });

  describe('keep_alive in a request', () => {
    it('reads numbers as seconds, negative as forever, and strings as Go durations', () => {
      expect(parseApiKeepAlive(undefined)).toBeUndefined();
      expect(parseApiKeepAlive(null)).toBeUndefined();
      expect(parseApiKeepAlive(0)).toBe(0n);
      expect(parseApiKeepAlive(300)).toBe(300n * SECOND);
      expect(parseApiKeepAlive(1.5)).toBe(1_500_000_000n);
      expect(parseApiKeepAlive(-1)).toBe(FOREVER_NS);
      expect(parseApiKeepAlive('-1m')).toBe(FOREVER_NS);
      expect(parseApiKeepAlive('0')).toBe(0n);
      expect(parseApiKeepAlive('24h')).toBe(86_400n * SECOND);
    });

    it('rejects unitless strings and other JSON types', () => {
      expect(goError(() => parseApiKeepAlive('-1'))).toBe('time: missing unit in duration "-1"');
      expect(goError(() => parseApiKeepAlive(false))).toBe("Unsupported type: 'bool'");
      expect(goError(() => parseApiKeepAlive(['5m']))).toBe("Unsupported type: '[]interface {}'");
    });
  });

  describe('OLLAMA_KEEP_ALIVE', () => {
    it('takes a Go duration or integer seconds, negative means forever, anything else 5m', () => {
      expect(parseEnvKeepAlive(undefined)).toBe(300n * SECOND);
      expect(parseEnvKeepAlive('')).toBe(300n * SECOND);
      expect(parseEnvKeepAlive('10m')).toBe(600n * SECOND);
      expect(parseEnvKeepAlive('300')).toBe(300n * SECOND);
      expect(parseEnvKeepAlive('-1')).toBe(FOREVER_NS);
      expect(parseEnvKeepAlive('-1m')).toBe(FOREVER_NS);
      expect(parseEnvKeepAlive('"24h"')).toBe(86_400n * SECOND);
      expect(parseEnvKeepAlive('soon')).toBe(300n * SECOND);
      expect(parseEnvKeepAlive(30)).toBe(30n * SECOND);
    });

    it('prints durations the way Go does', () => {
      expect(formatGoDuration(300n * SECOND)).toBe('5m0s');
      expect(formatGoDuration(0n)).toBe('0s');
      expect(formatGoDuration(300_000_000n)).toBe('300ms');
      expect(formatGoDuration(5400n * SECOND)).toBe('1h30m0s');
      expect(formatGoDuration(1_500_000_000n)).toBe('1.5s');
      expect(formatGoDuration(FOREVER_NS)).toBe('2562047h47m16.854775807s');
    });
  });

  describe('request body decoding', () => {
    it.each([
      ['{', 'unexpected EOF'],
      ['{"model":"x"', 'unexpected EOF'],
      ['nul', 'unexpected EOF'],
      ['x', "invalid character 'x' looking for beginning of value"],
      ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
      ['{"a" 1}', "invalid character '1' after object key"],
      ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
      ['[1 2]', "invalid character '2' after array element"],
      ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
      ['{"a":-x}', "invalid character 'x' in numeric literal"],
      ['{"a":"\\q"}', "invalid character 'q' in string escape code"],
      ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ])('reports %j as %j', (body, message) => {
      expect(goError(() => decodeFirstJsonValue(Buffer.from(body)))).toBe(message);
    });

    it('treats a blank body as missing and reads only the first value', () => {
      expect(() => decodeFirstJsonValue(Buffer.from(' \n\t'))).toThrow(EmptyBodyError);
      expect(decodeFirstJsonValue(Buffer.from('{"a":1} trailing'))).toEqual({ a: 1 });
    });
  });

  describe('model names', () => {
    it('normalises to the short display form and rejects invalid names', () => {
      expect(normaliseModelName('llama3.2')).toBe('llama3.2:latest');
      expect(normaliseModelName('registry.ollama.ai/library/llama3.2:3b')).toBe('llama3.2:3b');
      expect(normaliseModelName('library/qwen2.5:0.5b')).toBe('qwen2.5:0.5b');
      expect(normaliseModelName('someone/model')).toBe('someone/model:latest');
      expect(normaliseModelName('hf.co/org/model:Q4_K_M')).toBe('hf.co/org/model:Q4_K_M');
      expect(normaliseModelName('')).toBeUndefined();
      expect(normaliseModelName('bad name')).toBeUndefined();
      expect(normaliseModelName('model:')).toBeUndefined();
    });
  });

  describe('tokens', () => {
    it('cuts text into pieces that concatenate back to the text', () => {
      const text = '  Hello, wonderful world!\nSecond line\u{1F600} end  ';
      const tokens = tokenize(text);
      expect(tokens.join('')).toBe(text);
      expect(tokens.length).toBeGreaterThan(4);
    });
  });

  describe('schema sampling', () => {
    it('fills every property and respects types, bounds, enums and array sizes', () => {
      const value = sampleFromSchema({
        type: 'object',
        properties: {
          riskLevel: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
          score: { type: 'integer', minimum: 0, maximum: 100 },
          ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
          summary: { type: 'string', minLength: 20, maxLength: 40 },
          factors: {
            type: 'array',
            minItems: 3,
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                evidence: { type: 'array', items: { type: 'integer', minimum: 0 } },
              },
              required: ['name', 'evidence'],
            },
          },
          when: { type: 'string', format: 'date' },
          maybe: { type: ['null', 'boolean'] },
          ref: { $ref: '#/$defs/thing' },
          choice: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 5 }] },
          fixed: { const: 'yes' },
        },
        required: ['riskLevel', 'score', 'extra'],
        $defs: { thing: { type: 'object', properties: { id: { type: 'integer', multipleOf: 7, minimum: 10 } } } },
      }) as Record<string, unknown>;
      expect(value['riskLevel']).toBe('low');
      expect(value['score']).toBe(0);
      expect(value['ratio']).toBeGreaterThan(0);
      expect(value['ratio']).toBeLessThan(1);
      expect((value['summary'] as string).length).toBeGreaterThanOrEqual(20);
      expect((value['summary'] as string).length).toBeLessThanOrEqual(40);
      expect(value['factors']).toHaveLength(3);
      expect((value['factors'] as Array<Record<string, unknown>>)[0]).toEqual({
        name: expect.any(String),
        evidence: [0],
      });
      expect(value['when']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(value['maybe']).toBe(true);
      expect(value['ref']).toEqual({ id: 14 });
      expect(value['choice']).toBe(5);
      expect(value['fixed']).toBe('yes');
      expect(value).toHaveProperty('extra');
    });

    it('gives distinct items for uniqueItems-style arrays of enums', () => {
      expect(sampleFromSchema({ type: 'array', minItems: 2, items: { enum: ['a', 'b', 'c'] } })).toEqual(['a', 'b']);
    });
  });
});
