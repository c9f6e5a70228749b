/** Command-line options of the bench scripts. */

/** The whole number `text` given as `--name`, at least `min`; a clear error for anything else. */
export function wholeNumber(name: string, text: string, min = 1): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min) {
    throw new Error(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}
