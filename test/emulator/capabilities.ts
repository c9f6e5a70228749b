/** What a model can do (`types/model/capability.go`) and the errors Ollama gives when it cannot. */
import { goQuote } from './go-quote';

/** The values `/api/show` may list in `capabilities`. */
export const CAPABILITIES = [
  'completion',
  'tools',
  'insert',
  'vision',
  'embedding',
  'thinking',
  'image',
  'audio',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && (CAPABILITIES as readonly string[]).includes(value);
}

/** The capabilities a model lacks among `wanted`, in the order asked (`Model.CheckCapabilities`). */
export function missingCapabilities(available: readonly Capability[], wanted: readonly Capability[]): Capability[] {
  return wanted.filter((capability) => !available.includes(capability));
}

/**
 * The 400 text for missing capabilities. Chat and generate on a model without `completion` name the
 * model as the request spelled it (`"bert" does not support chat`); anything else comes from
 * `scheduleRunner`: the full model name, then `does not support` and the missing capabilities joined
 * by newlines (Go's `errors.Join`), e.g. `registry.ollama.ai/library/llama3.1:latest does not support tools`.
 */
export function capabilityErrorText(
  endpoint: 'chat' | 'generate' | 'embed',
  requestedModel: string,
  fullName: string,
  missing: readonly Capability[],
): string {
  if (missing.includes('completion') && endpoint !== 'embed') {
    return `${goQuote(requestedModel)} does not support ${endpoint}`;
  }
  return `${fullName} does not support ${missing.join('\n')}`;
}
