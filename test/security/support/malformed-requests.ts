/**
 * Generates requests that the contract refuses, from a seeded PRNG so that a failure reproduces.
 * Every generated request is invalid by construction: it breaks at least one rule of CONTRACT §2 (or of
 * HTTP/JSON itself), so the only right answer is a 4xx.
 */

export { Prng } from './malformed/prng';
export { Raw, serialize } from './malformed/json-text';
export { CHAT_ROUTE, OPENAI_CHAT_ROUTE, RISK_ROUTE, type ErrorShape, type FuzzRoute } from './malformed/routes';
export { junkQuery, malformedRequest, type MalformedRequest } from './malformed/generators';
