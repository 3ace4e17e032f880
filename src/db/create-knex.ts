import type { EventEmitter } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import type { Logger } from 'pino';
import { EmbeddedDatabaseInUse, lockEmbeddedDatabase } from './embedded-lock.ts';
import { type EmbeddedSocket, embeddedSocketFile, shareEmbeddedDatabase } from './embedded-socket.ts';
import { joinEmbeddedServer } from './join-embedded-server.ts';

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
  /** Commands: when a running server holds the embedded database, use it through that server. */
  joinRunningServer?: boolean;
  /** Where knex's warnings go (JSON lines); without one, knex prints them as text (the CLI). */
  logger?: Logger;
};

export type Database = {
  knex: Knex;
  isEmbedded: boolean;
  /** Where other connections (LISTEN) reach this database; undefined for PGlite in this process. */
  listenUrl: string | undefined;
  /** PGlite on disk owned by this process: serve it to commands (see embedded-socket.ts). */
  share?: (logger: Logger) => EmbeddedSocket;
  close: () => Promise<void>;
};

export function createDatabase(options: DatabaseOptions): Database {
  if (options.url) {
    const log = options.logger ? outageLog(options.logger) : undefined;
    const knex = knexFactory({
      client: 'pg',
      connection: options.url,
      searchPath: options.schema ? [options.schema] : undefined,
      pool: { min: 0, max: options.poolMax ?? 10 },
      ...(log ? { log: log.knexLog } : {}),
    });
    // A new connection made: Postgres answers again.
    if (log) (knex.client as { pool?: EventEmitter }).pool?.on('createSuccess', log.reachable);
    return { knex, isEmbedded: false, listenUrl: options.url, close: () => knex.destroy() };
  }
  // PGlite is one in-process Postgres with a single connection (knex-pglite pins the pool to 1):
  // fine for trying Gatehouse, not for production or for more than one process.
  // `memory://` keeps the database in memory (tests); anything else is a directory on disk.
  const inMemory = options.dataDir.startsWith('memory://');
  const directory = inMemory ? options.dataDir : join(options.dataDir, 'pgdata');
  if (!inMemory) mkdirSync(directory, { recursive: true, mode: 0o700 });
  let unlock = () => {};
  if (!inMemory) {
    try {
      unlock = lockEmbeddedDatabase(directory);
    } catch (err) {
      if (err instanceof EmbeddedDatabaseInUse && options.joinRunningServer) return joinEmbeddedServer({ ...options, inUse: err });
      throw err;
    }
    rmSync(embeddedSocketFile(options.dataDir), { force: true }); // ours now: any socket there is a crashed server's
  }
  const knex = knexFactory({
    client: PgliteClient as unknown as typeof knexFactory.Client,
    dialect: 'postgres',
    connection: { filename: directory } as Knex.StaticConnectionConfig,
    searchPath: options.schema ? [options.schema] : undefined,
  });
  return {
    knex,
    isEmbedded: true,
    listenUrl: undefined,
    share: inMemory ? undefined : (logger) => shareEmbeddedDatabase({ knex, dataDir: options.dataDir, logger }),
    close: async () => {
      await knex.destroy();
      unlock();
    },
  };
}

/**
 * knex prints its warnings with console.log, as text outside the JSON log, and while Postgres is
 * down it warns for every query that cannot get a connection ("Acquire connection error" with a
 * stack: hundreds a second) and for every pooled connection found dead ("Connection Error").
 * Here they go to pino instead, each kind once per outage: the outage ends when the pool makes a
 * connection again, which is logged with how many warnings were left out.
 */
function outageLog(logger: Logger) {
  const text = (message: unknown) => (typeof message === 'string' ? message : inspect(message, { depth: 3 }));
  const firstLine = (message: unknown) => text(message).split('\n')[0]!;
  let unreachableSince: number | undefined;
  let hasLostConnections = false;
  let suppressed = 0;
  const warn = (message: unknown) => {
    const line = firstLine(message);
    if (line.startsWith('Acquire connection error')) {
      if (unreachableSince !== undefined) return void (suppressed += 1);
      unreachableSince = Date.now();
      logger.warn({ err: line.replace(/^Acquire connection error: /, '') }, 'postgres unreachable');
    } else if (line.startsWith('Connection Error')) {
      if (hasLostConnections) return void (suppressed += 1);
      hasLostConnections = true;
      logger.warn({ err: line.replace(/^Connection Error: /, '') }, 'postgres connection lost');
    } else {
      logger.warn({ knex: text(message) }, 'knex warning');
    }
  };
  return {
    knexLog: {
      warn,
      error: (message: unknown) => logger.error({ knex: text(message) }, 'knex error'),
      deprecate: (method: string, alternative: string) => logger.warn({ method, alternative }, 'knex deprecation'),
      debug: (message: unknown) => logger.debug({ knex: text(message) }, 'knex debug'),
    },
    reachable: () => {
      if (unreachableSince !== undefined) logger.info({ downMs: Date.now() - unreachableSince, warningsLeftOut: suppressed }, 'postgres reachable again');
      unreachableSince = undefined;
      hasLostConnections = false;
      suppressed = 0;
    },
  };
}
