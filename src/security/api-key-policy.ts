import { ValidateBy, ValidationOptions } from '../common/validation/class-validator';

/** Shorter keys are guessable, or were typed by hand for a try-out and never replaced. */
export const MIN_API_KEY_LENGTH = 16;

/** The words of example values in templates and docs: a key holding one was copied, not generated. */
const PLACEHOLDER_WORDS = ['replace-me', 'changeme'];

const HOW_TO_FIX = `use random keys of ${MIN_API_KEY_LENGTH} or more characters, e.g. from \`openssl rand -hex 32\``;

/**
 * Why the keys of an `API_KEYS` value cannot guard the service, one phrase per bad key: its position
 * in the comma-separated list (from 1) and the reason, never the key itself. Empty when every key is usable.
 */
export function apiKeyProblems(value: string): string[] {
  return value
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '')
    .flatMap((key, index) => {
      const lower = key.toLowerCase();
      const placeholder = PLACEHOLDER_WORDS.find((word) => lower.includes(word));
      if (placeholder !== undefined) {
        return [`key ${index + 1} contains "${placeholder}", so it is a placeholder`];
      }
      if (key.length < MIN_API_KEY_LENGTH) {
        return [`key ${index + 1} is shorter than ${MIN_API_KEY_LENGTH} characters`];
      }
      return [];
    });
}

/**
 * `API_KEYS`: every key at least {@link MIN_API_KEY_LENGTH} characters long and none a placeholder. The
 * message names a bad key by its position only, so the start-up error never shows a key.
 */
export function IsUsableApiKeyList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isUsableApiKeyList',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && apiKeyProblems(value).length === 0,
        defaultMessage: (args) =>
          typeof args?.value === 'string'
            ? `${apiKeyProblems(args.value).join('; ')}: ${HOW_TO_FIX}`
            : 'must be keys separated by commas',
      },
    },
    options,
  );
}
