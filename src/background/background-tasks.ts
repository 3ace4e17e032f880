import type { Logger } from 'pino';

/**
 * Work taken off the request path so that the answer cannot depend on it, in time or in any other
 * way (a password-reset request for a known and an unknown address answers alike; what follows —
 * the lookup, the token, the mail — happens after). Bounded: past `maxPending` tasks a new one is
 * dropped and logged, so a flood cannot pile up promises. A failing task is logged by name, never
 * thrown. `idle()` (tests) and `close()` (shutdown) wait for what is running.
 */
export function createBackgroundTasks(options: { logger: Logger; maxPending?: number }) {
  const maxPending = options.maxPending ?? 1000;
  const pending = new Set<Promise<void>>();

  return {
    /**
     * Starts `work` once `after` has settled (at once without it), without waiting for it; it is
     * pending from now. False when it was dropped (too many pending). A request's task waits for
     * the answer to be sent (http/response-sent.ts), so that its work cannot slow the answer down.
     */
    run(name: string, work: () => Promise<void>, after?: Promise<void>): boolean {
      if (pending.size >= maxPending) {
        options.logger.error({ task: name }, 'background task dropped: too many pending');
        return false;
      }
      const task = (async () => {
        try {
          await after;
          await work();
        } catch (err) {
          options.logger.error({ task: name, err: (err as Error).message }, 'background task failed');
        }
      })();
      pending.add(task);
      void task.finally(() => pending.delete(task));
      return true;
    },
    /** Resolves once every task started so far (and any they started) has finished. */
    async idle(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    close(): Promise<void> {
      return this.idle();
    },
  };
}

export type BackgroundTasks = ReturnType<typeof createBackgroundTasks>;
