/** The routes the fuzzer aims at: a valid body for each and the ways to break it. */
import type { Prng } from './prng';
import { Raw, type Json } from './json-text';
import { longText, nonNull, notArray, notBoolean, notInteger, notNumber, notObject, notString, text } from './values';

type Mutation = (body: Json, rng: Prng) => void;

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
