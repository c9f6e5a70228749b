/*
 * The shared test helpers under the names the chat tests import them by; every one of them lives in
 * `test/support/`.
 */
export type { Gateway } from '../support/gateway';
export { MODEL, startGateway } from '../support/gateway';
export { eventually } from '../support/eventually';
export { postJson } from '../support/http';
export type { DisconnectableRequest } from '../support/connections';
export { postDisconnectable } from '../support/connections';
