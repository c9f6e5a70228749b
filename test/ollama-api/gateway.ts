import { Gateway, GatewayOptions, startGateway } from '../support/gateway';

/** API keys must be at least 16 characters long. */
export const API_KEY = 'ollama-api-e2e-key-0123456789';
export const AUTH = { authorization: `Bearer ${API_KEY}` };

/** The default model (OLLAMA_MODEL) and the other served ones (OLLAMA_MODELS). */
export const CHAT_MODEL = 'llama3.1:latest';
export const SECOND_CHAT_MODEL = 'qwen2.5:0.5b';
export const EMBED_MODEL = 'nomic-embed-text:latest';
/** Present in Ollama, but not served by the gateway. */
export const UNSERVED_MODEL = 'llama3.2:latest';

/** The gateway's OLLAMA_KEEP_ALIVE in these tests: not Ollama's default, not what clients send. */
export const GATEWAY_KEEP_ALIVE = '17m';

/** The real application in front of an Ollama emulator that has the served models and one more. */
export type OllamaGateway = Gateway;

export interface OllamaGatewayOptions extends Omit<GatewayOptions, 'emulator'> {
  /** Environment on top of the defaults below. */
  env?: Record<string, string>;
  /** Emulator model load time (default 0). */
  loadTimeMs?: number;
}

/**
 * Starts an emulator with every served model plus {@link UNSERVED_MODEL}, and the application in front
 * of it serving three models, with API keys, keep-warm off (the emulator's counters then hold only what
 * a test sends) and a circuit that does not open under deliberate faults; counters are zeroed once the
 * gateway is ready.
 */
export function startOllamaGateway(options: OllamaGatewayOptions = {}): Promise<OllamaGateway> {
  const { env, loadTimeMs, ...rest } = options;
  return startGateway(
    {
      OLLAMA_MODEL: CHAT_MODEL,
      OLLAMA_MODELS: `${SECOND_CHAT_MODEL},${EMBED_MODEL}`,
      OLLAMA_KEEP_ALIVE: GATEWAY_KEEP_ALIVE,
      API_KEYS: API_KEY,
      ...env,
    },
    {
      ...rest,
      emulator: { models: [CHAT_MODEL, SECOND_CHAT_MODEL, EMBED_MODEL, UNSERVED_MODEL], loadTimeMs: loadTimeMs ?? 0 },
    },
  );
}

/** The body a request of `endpoint` brought to the emulator last. */
export function lastUpstreamBody(
  gateway: OllamaGateway,
  endpoint: 'chat' | 'generate' | 'embed' | 'embeddings' | 'show',
): Record<string, unknown> {
  const record = gateway.emulator.lastRequest({ endpoint });
  if (record === undefined) {
    throw new Error(`no ${endpoint} request reached the emulator`);
  }
  return record.body as Record<string, unknown>;
}
