import { getEventListeners, setMaxListeners } from 'node:events';
import { LinkedAbort } from './linked-abort';

describe(LinkedAbort.name, () => {
  it('aborts with the reason of the first parent that aborts', () => {
    const first = new AbortController();
    const second = new AbortController();
    const link = new LinkedAbort([first.signal, second.signal]);
    expect(link.signal.aborted).toBe(false);

    const reason = new Error('stopping');
    second.abort(reason);
    first.abort(new Error('later'));

    expect(link.signal.aborted).toBe(true);
    expect(link.signal.reason).toBe(reason);
  });

  it('is aborted at once when a parent already is, and then listens to none of them', () => {
    const live = new AbortController();
    const reason = new Error('gone');
    const link = new LinkedAbort([live.signal, AbortSignal.abort(reason)]);

    expect(link.signal.aborted).toBe(true);
    expect(link.signal.reason).toBe(reason);
    expect(getEventListeners(live.signal, 'abort')).toHaveLength(0);
  });

  it('ignores missing parents, and without any never aborts', () => {
    const parent = new AbortController();
    const link = new LinkedAbort([undefined, parent.signal]);
    expect(new LinkedAbort([undefined]).signal.aborted).toBe(false);

    parent.abort();

    expect(link.signal.aborted).toBe(true);
  });

  it('stops following its parents once disposed, and leaves no listener on them', () => {
    const lifetime = new AbortController();
    const other = new AbortController();
    setMaxListeners(1000, lifetime.signal, other.signal);
    const links = Array.from({ length: 1000 }, () => new LinkedAbort([lifetime.signal, other.signal]));
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1000);

    links.forEach((link) => {
      link.dispose();
      link.dispose();
    });
    lifetime.abort();

    expect(links.some((link) => link.signal.aborted)).toBe(false);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });

  it('lets go of the other parents when one aborts', () => {
    const first = new AbortController();
    const second = new AbortController();
    const link = new LinkedAbort([first.signal, second.signal]);

    first.abort();

    expect(link.signal.aborted).toBe(true);
    expect(getEventListeners(second.signal, 'abort')).toHaveLength(0);
  });
});
