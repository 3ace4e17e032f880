import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { sweepExpired } from './sweep-expired.ts';

/** Sweeps expired rows on a timer on every instance; the lock inside lets one at a time work. */
export function startSweeper(deps: { knex: Knex; logger: Logger; intervalMs: number; auditRetentionDays: number; batchSize?: number; maxBatches?: number }) {
  let running: Promise<unknown> = Promise.resolve();
  const pass = () => {
    running = running.then(async () => {
      try {
        const result = await sweepExpired(deps.knex, {
          batchSize: deps.batchSize ?? 1000,
          maxBatches: deps.maxBatches ?? 20,
          auditRetentionDays: deps.auditRetentionDays,
        });
        const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
        if (total > 0) deps.logger.info({ deleted: result.deleted }, 'swept expired rows');
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'sweep failed; will retry');
      }
    });
    return running;
  };
  const timer = setInterval(() => void pass(), deps.intervalMs);
  timer.unref();
  return {
    runOnce: pass,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
