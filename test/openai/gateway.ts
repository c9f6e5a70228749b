/*
 * The shared test helpers under the names the OpenAI tests import them by; every one of them lives in
 * `test/support/`. `eventually` waits 20 s unless told otherwise.
 */
export type { Gateway } from '../support/gateway';
export { MODEL, startGateway } from '../support/gateway';
export { eventually } from '../support/eventually';
