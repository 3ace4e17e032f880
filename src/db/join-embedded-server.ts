import { existsSync } from 'node:fs';
import knexFactory from 'knex';
import type { Database } from './create-knex.ts';
import type { EmbeddedDatabaseInUse } from './embedded-lock.ts';
import { embeddedSocketDirectory, embeddedSocketFile } from './embedded-socket.ts';

/**
 * A command's database while a running server holds the embedded one: that server's PGlite,
 * through the socket it keeps in DATA_DIR (embedded-socket.ts), with plain pg.
 */
export function joinEmbeddedServer(options: { dataDir: string; schema?: string; inUse: EmbeddedDatabaseInUse }): Database {
  const inUse = options.inUse.message.replace(/;.*$/, '');
  if (process.platform === 'win32') {
    throw new Error(`${inUse}; on Windows commands cannot run beside a server on the embedded database: stop it first, or set DATABASE_URL`);
  }
  // Whoever takes the lock removes a crashed server's socket, so a socket file means a server that shares.
  if (!existsSync(embeddedSocketFile(options.dataDir))) {
    throw new Error(
      `${inUse}, which does not share it (another gatehouse command? a server would say why in its log): ` +
        'try again when it is done, or set DATABASE_URL to share a Postgres server',
    );
  }
  const host = embeddedSocketDirectory(options.dataDir);
  const knex = knexFactory({
    client: 'pg',
    connection: { host, user: 'postgres', database: 'postgres' },
    searchPath: options.schema ? [options.schema] : undefined,
    // One connection, as in-process: the server runs one unit of work at a time on its one PGlite
    // session, so a second connection of ours would wait for the first (knex's migrator, which
    // reads on another connection while its transaction is open, would wait forever).
    pool: { min: 0, max: 1 },
  });
  return {
    knex,
    isEmbedded: true,
    listenUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(host)}`,
    close: () => knex.destroy(),
  };
}
