import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import { lockEmbeddedDatabase } from './embedded-lock.ts';

// Postgres `bigint` (int8) counts and epoch values fit in a JS number for our uses.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * knex-pglite 0.14 derives the result's command from knex's method name, so `.delete()` (method
 * `del`) comes back as "DEL", which knex's pg dialect does not recognise: it returns the raw result
 * instead of the affected-row count, and `(await q.delete()) > 0` is always false on PGlite.
 */
type ResponseProcessor = { processResponse(obj: { method?: string }, runner: unknown): unknown };
class PgliteClient extends (ClientPgLite as unknown as new (config: Knex.Config) => ResponseProcessor) {
  processResponse(obj: { method?: string }, runner: unknown) {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}

export type DatabaseOptions = {
  /** postgres:// URL; undefined = embedded PGlite in dataDir. */
  url: string | undefined;
  dataDir: string;
  /** Run against one schema (tests isolate themselves with a schema per file). */
  schema?: string;
  poolMax?: number;
};

export type Database = { knex: Knex; isEmbedded: boolean; close: () => Promise<void> };

export function createDatabase(options: DatabaseOptions): Database {
  if (options.url) {
    const knex = knexFactory({
      client: 'pg',
      connection: options.url,
      searchPath: options.schema ? [options.schema] : undefined,
      pool: { min: 0, max: options.poolMax ?? 10 },
    });
    return { knex, isEmbedded: false, close: () => knex.destroy() };
  }
  // PGlite is one in-process Postgres with a single connection (knex-pglite pins the pool to 1):
  // fine for trying Gatehouse, not for production or for more than one process.
  // `memory://` keeps the database in memory (tests); anything else is a directory on disk.
  const inMemory = options.dataDir.startsWith('memory://');
  const directory = inMemory ? options.dataDir : join(options.dataDir, 'pgdata');
  if (!inMemory) mkdirSync(directory, { recursive: true, mode: 0o700 });
  const unlock = inMemory ? () => {} : lockEmbeddedDatabase(directory);
  const knex = knexFactory({
    client: PgliteClient as unknown as typeof knexFactory.Client,
    dialect: 'postgres',
    connection: { filename: directory } as Knex.StaticConnectionConfig,
    searchPath: options.schema ? [options.schema] : undefined,
  });
  return {
    knex,
    isEmbedded: true,
    close: async () => {
      await knex.destroy();
      unlock();
    },
  };
}
