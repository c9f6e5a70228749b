/**
 * Go `time.Duration` semantics as Ollama applies them to `keep_alive`.
 *
 * Durations are kept as bigint nanoseconds because "forever" is Go's maximum int64 duration and
 * `expires_at` is computed by adding it to a wall-clock time (which lands in the year 2318).
 */

export const NS_PER_MS = 1_000_000n;
export const NS_PER_SECOND = 1_000_000_000n;
/** `time.Duration(math.MaxInt64)`: what Ollama stores for a negative keep-alive. */
export const FOREVER_NS = 9_223_372_036_854_775_807n;
export const DEFAULT_KEEP_ALIVE_NS = 5n * 60n * NS_PER_SECOND;

/** An error whose message is the exact text Go would produce. */
export class GoError extends Error {}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n, // micro sign
  '\u03bcs': 1_000n, // Greek mu
  ms: NS_PER_MS,
  s: NS_PER_SECOND,
  m: 60n * NS_PER_SECOND,
  h: 3600n * NS_PER_SECOND,
};

const INT64_LIMIT = 1n << 63n;

/** The time package's own quoting: only `"` and `\` are escaped, other odd bytes become `\xNN`. */
export function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code >= 0x80) {
      for (const byte of Buffer.from(ch, 'utf8')) {
        out += `\\x${byte.toString(16).padStart(2, '0')}`;
      }
    } else {
      out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
    }
  }
  return `${out}"`;
}

/** Port of Go's `time.ParseDuration`, including its error messages. */
export function parseGoDuration(input: string): bigint {
  const invalid = (): GoError => new GoError(`time: invalid duration ${goTimeQuote(input)}`);
  let s = input;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') {
    return 0n;
  }
  if (s === '') {
    throw invalid();
  }
  let total = 0n;
  while (s !== '') {
    if (!/^[0-9.]/.test(s)) {
      throw invalid();
    }
    const intMatch = /^[0-9]*/.exec(s)?.[0] ?? '';
    s = s.slice(intMatch.length);
    let whole = 0n;
    for (const digit of intMatch) {
      whole = whole * 10n + BigInt(digit);
      if (whole > INT64_LIMIT) {
        throw invalid();
      }
    }
    let fraction = 0;
    let scale = 1;
    let hasFraction = false;
    if (s.startsWith('.')) {
      s = s.slice(1);
      const fracMatch = /^[0-9]*/.exec(s)?.[0] ?? '';
      s = s.slice(fracMatch.length);
      hasFraction = fracMatch.length > 0;
      let overflowed = false;
      for (const digit of fracMatch) {
        // Go stops accumulating (but keeps consuming) once more digits would overflow.
        if (overflowed || fraction > (Number.MAX_SAFE_INTEGER - 9) / 10) {
          overflowed = true;
          continue;
        }
        fraction = fraction * 10 + Number(digit);
        scale *= 10;
      }
    }
    if (intMatch.length === 0 && !hasFraction) {
      throw invalid();
    }
    const unitMatch = /^[^0-9.]*/.exec(s)?.[0] ?? '';
    if (unitMatch.length === 0) {
      throw new GoError(`time: missing unit in duration ${goTimeQuote(input)}`);
    }
    s = s.slice(unitMatch.length);
    const unit = UNITS[unitMatch];
    if (unit === undefined) {
      throw new GoError(`time: unknown unit ${goTimeQuote(unitMatch)} in duration ${goTimeQuote(input)}`);
    }
    if (whole > INT64_LIMIT / unit) {
      throw invalid();
    }
    let value = whole * unit;
    if (fraction > 0) {
      value += BigInt(Math.trunc(fraction * (Number(unit) / scale)));
      if (value > INT64_LIMIT) {
        throw invalid();
      }
    }
    total += value;
    if (total > INT64_LIMIT) {
      throw invalid();
    }
  }
  if (negative) {
    return -total;
  }
  if (total > INT64_LIMIT - 1n) {
    throw invalid();
  }
  return total;
}

/** Go's name for the dynamic type of a value decoded into `any`, as `reflect.TypeOf` prints it. */
function goDynamicTypeName(value: unknown): string {
  if (typeof value === 'boolean') {
    return 'bool';
  }
  if (typeof value === 'number') {
    return 'float64';
  }
  if (typeof value === 'string') {
    return 'string';
  }
  if (Array.isArray(value)) {
    return '[]interface {}';
  }
  return 'map[string]interface {}';
}

/**
 * `keep_alive` of an API request, parsed like `api.Duration.UnmarshalJSON`.
 * Returns undefined for "not specified" (missing or null). Throws GoError with the exact
 * message Ollama returns (as a 400) for a value it rejects.
 */
export function parseApiKeepAlive(value: unknown): bigint | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'number') {
    if (value < 0) {
      return FOREVER_NS;
    }
    const ns = value * 1e9;
    return ns >= Number(FOREVER_NS) ? FOREVER_NS : BigInt(Math.trunc(ns));
  }
  if (typeof value === 'string') {
    const parsed = parseGoDuration(value);
    return parsed < 0n ? FOREVER_NS : parsed;
  }
  throw new GoError(`Unsupported type: '${goDynamicTypeName(value)}'`);
}

/** Ollama's `envconfig.Var`: surrounding spaces and quotes are ignored. */
export function trimEnvValue(raw: string): string {
  return raw.trim().replace(/^["']+|["']+$/g, '');
}

/**
 * `OLLAMA_KEEP_ALIVE` as `envconfig.KeepAlive()` reads it: a Go duration, else an integer count of
 * seconds, else silently 5m. Negative means forever. A number is taken as seconds.
 */
export function parseEnvKeepAlive(raw: string | number | undefined): bigint {
  if (raw === undefined) {
    return DEFAULT_KEEP_ALIVE_NS;
  }
  let result = DEFAULT_KEEP_ALIVE_NS;
  if (typeof raw === 'number') {
    result = Number.isFinite(raw) ? BigInt(Math.trunc(raw * 1e9)) : DEFAULT_KEEP_ALIVE_NS;
  } else {
    const s = trimEnvValue(raw);
    if (s !== '') {
      try {
        result = parseGoDuration(s);
      } catch {
        if (/^[+-]?[0-9]+$/.test(s)) {
          result = BigInt(s) * NS_PER_SECOND;
        }
      }
    }
  }
  return result < 0n ? FOREVER_NS : result;
}

function formatFraction(value: bigint, digits: number): { int: bigint; frac: string } {
  const divisor = 10n ** BigInt(digits);
  const frac = (value % divisor).toString().padStart(digits, '0').replace(/0+$/, '');
  return { int: value / divisor, frac: frac === '' ? '' : `.${frac}` };
}

/** Go's `Duration.String()`, e.g. `5m0s`, `300ms`, `2562047h47m16.854775807s`. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) {
    return '0s';
  }
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  if (u < 1_000n) {
    return `${sign}${u}ns`;
  }
  if (u < NS_PER_MS) {
    const { int, frac } = formatFraction(u, 3);
    return `${sign}${int}${frac}\u00b5s`;
  }
  if (u < NS_PER_SECOND) {
    const { int, frac } = formatFraction(u, 6);
    return `${sign}${int}${frac}ms`;
  }
  const { int: seconds, frac } = formatFraction(u, 9);
  let out = `${seconds % 60n}${frac}s`;
  const minutes = seconds / 60n;
  if (minutes > 0n) {
    out = `${minutes % 60n}m${out}`;
    const hours = minutes / 60n;
    if (hours > 0n) {
      out = `${hours}h${out}`;
    }
  }
  return sign + out;
}
