/*
 * The shared test helpers under the names the OpenAI tests import them by (they live in `test/support/`;
 * `eventually` waits 20 s unless told otherwise), and the one set-up of a gateway with an openai client.
 */
import type OpenAI from 'openai';
import type { Gateway } from '../support/gateway';

export type { Gateway };
export { MODEL, startGateway } from '../support/gateway';
export { eventually } from '../support/eventually';

/** What an openai-client spec works with: one gateway for the file and an openai client of it. */
export interface OpenAiGateway {
  readonly gateway: Gateway;
  readonly client: OpenAI;
}

/**
 * Starts a gateway (`start`) before the file's tests and closes it after them, with the client `clientOf`
 * makes of it; after each test, clears the emulator's faults and puts its replies back to the defaults.
 */
export function useOpenAiGateway(start: () => Promise<Gateway>, clientOf: (gateway: Gateway) => OpenAI): OpenAiGateway {
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await start();
    client = clientOf(gateway);
  });

  afterEach(() => {
    gateway?.emulator.clearFaults();
    gateway?.emulator.configure({ tokenDelayMs: 0, replyText: undefined, structuredReply: undefined });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  return {
    get gateway() {
      return gateway;
    },
    get client() {
      return client;
    },
  };
}
