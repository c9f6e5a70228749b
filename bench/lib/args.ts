/** Command-line options of the bench scripts. */

/** A bad command line: `runBench` prints its message alone (no stack) and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The whole number `text` given as `--name`, at least `min`; a clear error for anything else. */
export function wholeNumber(name: string, text: string, min = 1): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min) {
    throw new UsageError(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}
