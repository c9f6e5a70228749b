import { parseGoDurationMs, parseKeepAlive, parseSecondsOrDurationMs } from './duration';

describe(parseGoDurationMs.name, () => {
  it.each([
    ['300ms', 300],
    ['1.5s', 1500],
    ['1h30m', 5_400_000],
    ['-1m', -60_000],
    ['0', 0],
    ['2h45m10s', 9_910_000],
  ])('parses %s as %d ms', (text, ms) => {
    expect(parseGoDurationMs(text)).toBe(ms);
  });

  it.each(['-1', '300', '5 minutes', '', 'm', '1x'])('rejects %j', (text) => {
    expect(parseGoDurationMs(text)).toBeUndefined();
  });
});

describe(parseSecondsOrDurationMs.name, () => {
  it('reads a plain number as seconds', () => {
    expect(parseSecondsOrDurationMs('35')).toBe(35_000);
    expect(parseSecondsOrDurationMs('0.25')).toBe(250);
    expect(parseSecondsOrDurationMs('10m')).toBe(600_000);
    expect(parseSecondsOrDurationMs('abc')).toBeUndefined();
  });
});

describe(parseKeepAlive.name, () => {
  it('keeps Go durations as strings and negative values as forever', () => {
    expect(parseKeepAlive('20m')).toEqual({ apiValue: '20m', ms: 1_200_000 });
    expect(parseKeepAlive('-5m')).toEqual({ apiValue: '-5m', ms: Infinity });
    expect(parseKeepAlive('0')).toEqual({ apiValue: 0, ms: 0 });
    expect(parseKeepAlive('1.5')).toBeUndefined();
  });
});
