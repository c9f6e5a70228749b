/**
 * Wall-clock time with nanosecond resolution and Go's RFC3339Nano formatting.
 *
 * `Date` only has milliseconds; Ollama's timestamps carry up to nine fractional digits, so the
 * monotonic clock supplies the sub-millisecond part.
 */

const EPOCH_AT_LOAD_NS = BigInt(Date.now()) * 1_000_000n;
const HRTIME_AT_LOAD = process.hrtime.bigint();

/** Nanoseconds since the Unix epoch. */
export function nowNs(): bigint {
  return EPOCH_AT_LOAD_NS + (process.hrtime.bigint() - HRTIME_AT_LOAD);
}

/** Monotonic nanoseconds, for measuring durations. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** Go's `Z07:00`: `Z` for a zero offset, else `±hh:mm`. */
function zoneSuffix(date: Date): string {
  const offsetMinutes = -date.getTimezoneOffset();
  if (offsetMinutes === 0) {
    return 'Z';
  }
  const abs = Math.abs(offsetMinutes);
  return `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function fractionOf(ns: bigint): string {
  const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const digits = frac.toString().padStart(9, '0').replace(/0+$/, '');
  return digits === '' ? '' : `.${digits}`;
}

function secondsFloor(ns: bigint): bigint {
  const s = ns / 1_000_000_000n;
  return ns < 0n && ns % 1_000_000_000n !== 0n ? s - 1n : s;
}

/** `time.Now().UTC()` formatted with `time.RFC3339Nano`, e.g. `2025-10-26T17:21:21.196249Z`. */
export function formatUtcRfc3339Nano(ns: bigint): string {
  const date = new Date(Number(secondsFloor(ns)) * 1000);
  return `${date.toISOString().slice(0, 19)}${fractionOf(ns)}Z`;
}

/** A time in the server's local zone, RFC3339Nano, e.g. `2024-06-04T14:38:31.83753-07:00`. */
export function formatLocalRfc3339Nano(ns: bigint): string {
  const date = new Date(Number(secondsFloor(ns)) * 1000);
  const zone = zoneSuffix(date);
  const stamp =
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${stamp}${fractionOf(ns)}${zone}`;
}
