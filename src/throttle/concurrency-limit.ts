import { ServerBusy } from '../errors/app-error.ts';

export type ConcurrencyLimitSettings = Readonly<{ maxConcurrent: number; maxQueued: number }>;

/**
 * At most `maxConcurrent` pieces of work at once in this process, `maxQueued` more waiting their
 * turn (first come, first served); anything beyond is refused at once with ServerBusy, so a burst
 * costs a queue of bounded length instead of every core and a growing pile of memory.
 */
export function createConcurrencyLimit(settings: ConcurrencyLimitSettings) {
  let running = 0;
  const waiting: (() => void)[] = [];
  // A finished piece hands its slot straight to the next in line (running stays the same).
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };

  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (running < settings.maxConcurrent) running += 1;
      else if (waiting.length < settings.maxQueued) await new Promise<void>((resolve) => waiting.push(resolve));
      else throw new ServerBusy();
      try {
        return await work();
      } finally {
        release();
      }
    },
    /** What is going on now (metrics, tests). */
    load: () => ({ running, waiting: waiting.length }),
  };
}
