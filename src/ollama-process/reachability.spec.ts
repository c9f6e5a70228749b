import { Logger } from '@nestjs/common';
import { Reachability } from './reachability';

describe(Reachability.name, () => {
  let gauge: boolean[];
  let reachability: Reachability;
  let loggedErrors: jest.SpyInstance;

  beforeEach(() => {
    gauge = [];
    const logger = new Logger('test');
    loggedErrors = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    reachability = new Reachability((up) => gauge.push(up), logger);
  });

  it('tells listeners and the gauge of changes only', () => {
    const heard: boolean[] = [];
    reachability.onChange((up) => heard.push(up));

    reachability.set(false);
    reachability.set(true);
    reachability.set(true);
    reachability.set(false);

    expect(heard).toEqual([true, false]);
    expect(gauge).toEqual([true, false]);
  });

  it('stops telling a listener once it is removed', () => {
    const heard: boolean[] = [];
    const remove = reachability.onChange((up) => heard.push(up));
    reachability.set(true);
    remove();
    reachability.set(false);

    expect(heard).toEqual([true]);
  });

  it('logs a listener that throws, and the others still hear', () => {
    const heard: boolean[] = [];
    reachability.onChange(() => {
      throw new Error('listener bug');
    });
    reachability.onChange((up) => heard.push(up));

    reachability.set(true);

    expect(heard).toEqual([true]);
    expect(loggedErrors).toHaveBeenCalledWith('an Ollama up/down listener failed: listener bug');
  });

  it('wakes whenUp callers when it comes up, and answers at once while up', async () => {
    const woken = jest.fn();
    void reachability.whenUp().then(woken);
    await Promise.resolve();
    expect(woken).not.toHaveBeenCalled();

    reachability.set(true);
    await Promise.resolve();

    expect(woken).toHaveBeenCalled();
    await expect(reachability.whenUp()).resolves.toBeUndefined();
  });

  it('rejects whenUp with the reason of its signal, at once when it has already aborted', async () => {
    const controller = new AbortController();
    const waiting = reachability.whenUp(controller.signal);
    controller.abort(new Error('deadline'));

    await expect(waiting).rejects.toThrow('deadline');
    await expect(reachability.whenUp(controller.signal)).rejects.toThrow('deadline');
  });

  it('goes down for good on close, without telling listeners, and forgets them', () => {
    const heard: boolean[] = [];
    reachability.onChange((up) => heard.push(up));
    reachability.set(true);

    reachability.close();
    reachability.set(true);

    expect(reachability.isUp()).toBe(false);
    expect(heard).toEqual([true]);
    expect(gauge).toEqual([true, false]);
  });
});
