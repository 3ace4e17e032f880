import { describe, expect, it } from 'vitest';
import { ServerBusy } from '../src/errors/app-error.ts';
import { createConcurrencyLimit } from '../src/throttle/concurrency-limit.ts';

/** Work that ends when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('createConcurrencyLimit', () => {
  it('runs at most maxConcurrent at once, queues maxQueued in order, and refuses the rest with ServerBusy at once', async () => {
    const limit = createConcurrencyLimit({ maxConcurrent: 2, maxQueued: 3 });
    const gates = Array.from({ length: 5 }, gate);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limit.run(async () => {
        started.push(i);
        running += 1;
        peak = Math.max(peak, running);
        await g.opened;
        running -= 1;
        return i;
      }),
    );
    const refused = await Promise.allSettled(Array.from({ length: 4 }, () => limit.run(async () => 'never')));
    for (const r of refused) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ServerBusy);
      expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 503, retryAfterSeconds: 1 });
    }
    expect(limit.load()).toEqual({ running: 2, waiting: 3 });

    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(limit.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the slot of work that fails', async () => {
    const limit = createConcurrencyLimit({ maxConcurrent: 1, maxQueued: 0 });
    await expect(
      limit.run(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await limit.run(async () => 'next')).toBe('next');
    expect(limit.load()).toEqual({ running: 0, waiting: 0 });
  });
});
