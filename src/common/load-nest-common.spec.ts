import { loadNestCommon } from './load-nest-common';

const CONSOLE_LOGGER_CLOCK: Intl.DateTimeFormatOptions = {
  year: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
  day: '2-digit',
  month: '2-digit',
};

describe('loadNestCommon', () => {
  const Real = Intl.DateTimeFormat;
  let built: number;

  beforeEach(() => {
    built = 0;
    // Counts the formatters really built, and stands for the real constructor while @nestjs/common loads.
    Intl.DateTimeFormat = new Proxy(Real, {
      construct(target, args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
        built += 1;
        return new target(...args);
      },
    });
  });

  afterEach(() => {
    Intl.DateTimeFormat = Real;
    jest.restoreAllMocks();
  });

  /** Loads a fresh copy of @nestjs/common the way `main.ts` does, and returns it. */
  function loadFresh(): typeof import('@nestjs/common') {
    let common: typeof import('@nestjs/common') | undefined;
    jest.isolateModules(() => {
      loadNestCommon();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      common = require('@nestjs/common') as typeof import('@nestjs/common');
    });
    return common!;
  }

  it('builds no date formatter while @nestjs/common loads, and puts the constructor back', () => {
    const counting = Intl.DateTimeFormat;
    loadFresh();
    expect(built).toBe(0);
    expect(Intl.DateTimeFormat).toBe(counting);
  });

  it('loading without it builds them (what it saves)', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@nestjs/common');
    });
    expect(built).toBeGreaterThan(0);
  });

  it('leaves the console logger timestamps as they were, built on the first line logged', () => {
    const { ConsoleLogger } = loadFresh();
    const now = Date.UTC(2026, 11, 7, 14, 3, 9);
    jest.spyOn(Date, 'now').mockReturnValue(now);
    const written: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    new ConsoleLogger('Spec', { colors: false }).log('hello');
    expect(built).toBe(1);
    expect(written.join('')).toContain(new Real(undefined, CONSOLE_LOGGER_CLOCK).format(now));
    expect(written.join('')).toContain('hello');
  });
});
