import { pickBackend, RouteCandidate } from './backend-pool';

const up = (inFlight: number, suspect = false): RouteCandidate => ({ canServe: true, inFlight, suspect });
const down: RouteCandidate = { canServe: false, inFlight: 0 };

describe(pickBackend.name, () => {
  it.each<[string, RouteCandidate[], number, number]>([
    ['the only backend that can serve', [down, up(5), down], 0, 1],
    ['none when no backend can serve', [down, down], 0, -1],
    ['the fewest requests in flight', [up(3), up(1), up(2)], 0, 1],
    ['among equals, the first from the cursor (round robin)', [up(1), up(1), up(1)], 2, 2],
    ['among equals, wrapping around from the cursor', [up(1), up(1), up(1)], 3, 0],
    ['a fuller backend over one that just refused a connection', [up(0, true), up(4)], 0, 1],
    ['a backend that just refused a connection when it is the only one', [up(0, true), down], 0, 0],
    ['not a backend that cannot serve however idle it is', [up(9), down], 1, 0],
  ])('chooses %s', (_case, candidates, cursor, expected) => {
    expect(pickBackend(candidates, cursor)).toBe(expected);
  });
});
