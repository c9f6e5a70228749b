type DateTimeFormatConstructor = typeof Intl.DateTimeFormat;

/**
 * A formatter that is built on first use: every property read goes to the real one, made then with the
 * same arguments. `instanceof Intl.DateTimeFormat` still holds.
 */
function formatterOnFirstUse(
  Real: DateTimeFormatConstructor,
  args: ConstructorParameters<DateTimeFormatConstructor>,
): Intl.DateTimeFormat {
  let real: Intl.DateTimeFormat | undefined;
  return new Proxy(Object.create(Real.prototype) as Intl.DateTimeFormat, {
    get(_target, key) {
      real ??= new Real(...args);
      const value: unknown = Reflect.get(real, key, real);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
    },
  });
}

/**
 * Loads `@nestjs/common` without reading ICU's date data. When it loads, `@nestjs/common` builds two
 * `Intl.DateTimeFormat`s for the timestamps of its console logger, and a process's first
 * `Intl.DateTimeFormat` pages in its locale and calendar data: about 8 MiB of the node binary that stay
 * resident, and 1 MiB of heap (`docs/benchmarks.md`). This service logs through pino, whose timestamps
 * need no ICU, so while `@nestjs/common` loads, `Intl.DateTimeFormat` makes formatters that are built on
 * their first use; should anything log through Nest's console logger, its timestamps are as before. The
 * real constructor is back in place before this returns. Call it before anything imports Nest; once
 * `@nestjs/common` is loaded, it does nothing.
 */
export function loadNestCommon(): void {
  const Real = Intl.DateTimeFormat;
  Intl.DateTimeFormat = new Proxy(Real, {
    construct: (_target, args) => formatterOnFirstUse(Real, args as ConstructorParameters<DateTimeFormatConstructor>),
    apply: (_target, _this, args) =>
      formatterOnFirstUse(Real, args as ConstructorParameters<DateTimeFormatConstructor>),
  });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@nestjs/common');
  } finally {
    Intl.DateTimeFormat = Real;
  }
}
