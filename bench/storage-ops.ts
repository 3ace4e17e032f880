import { Redis } from 'ioredis';
import pg from 'pg';

/** What the storage servers did: Postgres table accesses in one schema, and Redis commands server-wide. */
export type StorageCounts = { postgresReads: number; postgresRowsWritten: number; redisCommands: number };

export type StorageOpsPerToken = {
  tokens: number;
  postgresReadsPerToken: number;
  postgresRowsWrittenPerToken: number;
  redisCommandsPerToken: number;
};

/**
 * Counts what Postgres and Redis see, for the capacity note ("what each token costs the shared
 * servers"). Postgres: scans (sequential + index) and rows inserted/updated/deleted on the tables
 * of the bench's own schema, from pg_stat_user_tables. Backends publish those counters lazily (up
 * to ~10 s after they go idle), so a snapshot waits until two readings a second apart agree.
 * Redis: `total_commands_processed`, server-wide, so run it on a quiet server; our own INFO calls
 * are subtracted.
 */
export async function createStorageCounter(options: { databaseUrl: string; schema: string; redisUrl: string }) {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  // No ready check: ioredis would send an INFO of its own that we could not count.
  const redis = new Redis(options.redisUrl, { enableReadyCheck: false, maxRetriesPerRequest: 1 });
  let ownRedisCommands = 0;

  const read = async (): Promise<StorageCounts> => {
    const {
      rows: [row],
    } = await client.query<{ reads: string; written: string }>(
      `select coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) as reads,
              coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) as written
         from pg_stat_user_tables where schemaname = $1`,
      [options.schema],
    );
    ownRedisCommands += 1;
    const info = await redis.info('stats');
    // The INFO that reads the counter is already counted in it.
    const commands = Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN) - ownRedisCommands;
    return { postgresReads: Number(row!.reads), postgresRowsWritten: Number(row!.written), redisCommands: commands };
  };

  return {
    /** Counters once Postgres has published them: two readings a second apart agree (at most ~20 s). */
    async settled(): Promise<StorageCounts> {
      const deadline = Date.now() + 20_000;
      let previous = await read();
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1_000)); // the stats publication interval: nothing to await
        const current = await read();
        const isStable = current.postgresReads === previous.postgresReads && current.postgresRowsWritten === previous.postgresRowsWritten;
        if (isStable || Date.now() > deadline) return current;
        previous = current;
      }
    },
    perToken(before: StorageCounts, after: StorageCounts, tokens: number): StorageOpsPerToken {
      const per = (n: number) => (tokens > 0 ? n / tokens : Number.NaN);
      return {
        tokens,
        postgresReadsPerToken: per(after.postgresReads - before.postgresReads),
        postgresRowsWrittenPerToken: per(after.postgresRowsWritten - before.postgresRowsWritten),
        redisCommandsPerToken: per(after.redisCommands - before.redisCommands),
      };
    },
    async close() {
      redis.disconnect();
      await client.end();
    },
  };
}
