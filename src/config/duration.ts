/**
 * Parsing of the duration settings. The service's own durations are given in seconds when they carry
 * no unit (`OLLAMA_TIMEOUT=35`), or with a unit (`500ms`, `35s`, `5m`, `1h30m`).
 * `OLLAMA_KEEP_ALIVE` follows Ollama's rules: a Go duration or whole seconds; negative means forever.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const GO_DURATION = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** Parses a Go duration string (`1h30m`, `-1m`, `300ms`, `0`) into milliseconds, or undefined. */
export function parseGoDurationMs(text: string): number | undefined {
  const value = text.trim();
  if (value === '0' || value === '+0' || value === '-0') {
    return 0;
  }
  const match = GO_DURATION.exec(value);
  if (!match) {
    return undefined;
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(GO_DURATION_PART)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return match[1] === '-' ? -total : total;
}

/** Seconds when unitless (`35`, `0.5`), else a Go duration. Undefined when it is neither. */
export function parseSecondsOrDurationMs(text: string): number | undefined {
  const value = text.trim();
  if (PLAIN_NUMBER.test(value)) {
    return Number(value) * 1000;
  }
  return parseGoDurationMs(value);
}

/** How the model's residency is configured: what to send to Ollama, and how long it lasts. */
export interface KeepAlive {
  /**
   * The value for Ollama's `keep_alive` field. A unitless value is sent as a JSON number of seconds,
   * because Ollama's API rejects unitless strings (`time: missing unit in duration "300"`).
   */
  readonly apiValue: number | string;
  /** Residency in milliseconds; `Infinity` when the model stays loaded forever (negative values). */
  readonly ms: number;
}

export function parseKeepAlive(text: string): KeepAlive | undefined {
  const value = text.trim();
  if (/^[+-]?\d+$/.test(value)) {
    const seconds = Number(value);
    return { apiValue: seconds, ms: seconds < 0 ? Infinity : seconds * 1000 };
  }
  const ms = parseGoDurationMs(value);
  if (ms === undefined) {
    return undefined;
  }
  return { apiValue: value, ms: ms < 0 ? Infinity : ms };
}
