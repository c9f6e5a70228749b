import { ValidateBy, ValidationOptions } from '../common/validation/class-validator';
import { parseKeepAlive, parseSecondsOrDurationMs } from './duration';

/*
 * The checks of single environment variables, each with the message that tells the operator what to
 * write instead. Every value arrives as text.
 */

export const TRUE_WORDS = ['true', '1', 'yes', 'on'];
export const FALSE_WORDS = ['false', '0', 'no', 'off'];

export function IsIntegerText(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isIntegerText',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()) && Number(value) >= min && Number(value) <= max,
        defaultMessage: () => `must be a whole number from ${min} to ${max}`,
      },
    },
    options,
  );
}

export function IsBooleanText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isBooleanText',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && [...TRUE_WORDS, ...FALSE_WORDS].includes(value.trim().toLowerCase()),
        defaultMessage: () => 'must be true or false',
      },
    },
    options,
  );
}

export function IsSecondsDuration(minSeconds: number, options?: ValidationOptions): PropertyDecorator {
  const floor = minSeconds === 0 ? 'zero or more' : 'more than zero';
  return ValidateBy(
    {
      name: 'isSecondsDuration',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') {
            return false;
          }
          const ms = parseSecondsOrDurationMs(value);
          return ms !== undefined && Number.isFinite(ms) && (minSeconds === 0 ? ms >= 0 : ms > 0);
        },
        defaultMessage: () =>
          `must be a duration, ${floor}: seconds as a number (e.g. 35 or 0.5) or with a unit (e.g. 500ms, 35s, 5m)`,
      },
    },
    options,
  );
}

export function IsKeepAlive(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isKeepAlive',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseKeepAlive(value) !== undefined,
        defaultMessage: () =>
          'must be a Go duration (e.g. 20m, 1h30m, -1m for forever) or whole seconds (e.g. 1200, -1 for forever)',
      },
    },
    options,
  );
}

export function IsHttpUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHttpUrl',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isHttpUrl(value),
        defaultMessage: () => 'must be an http(s) URL such as http://127.0.0.1:11434',
      },
    },
    options,
  );
}

/** A model name as Ollama accepts it: `llama3.1`, `qwen2.5:7b`, `registry.example.com/team/model:tag`. */
export const MODEL_NAME = /^[A-Za-z0-9][\w.\-/]*(?::[\w.-]+)?$/;

export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export function IsModelList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isModelList',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && splitList(value).every((name) => MODEL_NAME.test(name)),
        defaultMessage: () =>
          'must be Ollama model names separated by commas, such as nomic-embed-text:latest,qwen2.5:7b',
      },
    },
    options,
  );
}

export function IsHttpUrlList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHttpUrlList',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') {
            return false;
          }
          const urls = splitList(value);
          return urls.length > 0 && urls.every(isHttpUrl) && new Set(urls.map(baseUrl)).size === urls.length;
        },
        defaultMessage: () =>
          'must be distinct http(s) URLs separated by commas, such as http://ollama-0.ollama:11434,http://ollama-1.ollama:11434',
      },
    },
    options,
  );
}

/** OLLAMA_URL may stand beside OLLAMA_URLS only as its first entry. */
export function AgreesWithUrlList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'agreesWithUrlList',
      validator: {
        validate: (value: unknown, args) => {
          const list = splitList((args?.object as { OLLAMA_URLS?: string }).OLLAMA_URLS);
          return list.length === 0 || (typeof value === 'string' && baseUrl(value) === baseUrl(list[0]));
        },
        defaultMessage: () => 'must be unset when OLLAMA_URLS is set, or equal to its first entry',
      },
    },
    options,
  );
}

export function IsRedisUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRedisUrl',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') {
            return false;
          }
          try {
            const url = new URL(value.trim());
            return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
          } catch {
            return false;
          }
        },
        defaultMessage: () => 'must be a redis:// or rediss:// URL such as redis://redis:6379/0',
      },
    },
    options,
  );
}

/** A URL without its trailing slashes, so that `http://a/` and `http://a` are one server. */
export function baseUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}
