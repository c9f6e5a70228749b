import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { V8RuntimeHeap } from './v8-heap';

const MIB = 1024 * 1024;

function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

/**
 * Objects that live through a few scavenges, as a busy period's do, and so land in the old generation;
 * nothing refers to them once this returns.
 */
async function leaveOldGarbage(): Promise<number> {
  const kept: object[] = [];
  for (let round = 0; round < 8; round += 1) {
    for (let i = 0; i < 100_000; i += 1) {
      kept.push({ round, i, text: `item ${round}/${i}` });
    }
    await sleep(1);
  }
  return kept.length;
}

describe(V8RuntimeHeap.name, () => {
  const heap = new V8RuntimeHeap();

  it('reports the committed size of the heap, and the part of it in use', () => {
    expect(heap.committedBytes()).toBe(getHeapStatistics().total_heap_size);
    const used = heap.usedBytes();
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(heap.committedBytes());
    expect(Math.abs(used - getHeapStatistics().used_heap_size)).toBeLessThan(MIB);
  });

  it('gives back the garbage of the old generation, without the process being started with --expose-gc', async () => {
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
    expect(await leaveOldGarbage()).toBe(800_000);
    const before = heap.committedBytes();
    await heap.collectGarbage();
    expect(heap.committedBytes()).toBeLessThan(before - 30 * MIB);
  });

  it('leaves no gc function behind for code that did not ask for one', async () => {
    await heap.collectGarbage();
    expect(runInNewContext('typeof gc')).toBe('undefined');
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
  });

  it('measures the share of time the event loop was busy since the previous call', async () => {
    heap.loopBusyShareSinceLastCall();
    spin(300);
    await sleep(10);
    expect(heap.loopBusyShareSinceLastCall()).toBeGreaterThan(0.8);
    await sleep(300);
    expect(heap.loopBusyShareSinceLastCall()).toBeLessThan(0.2);
  });
});
