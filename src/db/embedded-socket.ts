import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { createSharedSessionQueue, type SessionQueue } from './shared-session-queue.ts';

/** Where a running server's embedded database answers commands: `DATA_DIR/run`, owner-only. */
export const embeddedSocketDirectory = (dataDir: string) => resolve(dataDir, 'run');
/** The name pg (like libpq) looks for in a socket directory, for the default port 5432. */
export const embeddedSocketFile = (dataDir: string) => join(embeddedSocketDirectory(dataDir), '.s.PGSQL.5432');

const MAX_SOCKET_PATH_BYTES = 103; // sun_path is 108 bytes on Linux and 104 on macOS, with its NUL
const MAX_CONNECTIONS = 8; // a command uses two (its pool of one and its LISTEN): a few at once
// A command inside a transaction this long without a word has hung, and the server waits on it.
const HOLD_TIMEOUT_MS = 15_000;

export type EmbeddedSocket = {
  /**
   * Starts answering (connections made earlier wait: the server is still starting) and hands the
   * change notices commands send with pg_notify to `onNotification`.
   */
  open(relay: { channels: string[]; onNotification: (channel: string, payload: string) => void }): Promise<void>;
  close(): Promise<void>;
};

/**
 * Lets `gatehouse <command>` work beside a running server on the embedded database, which one
 * process owns (embedded-lock.ts): the server serves its PGlite over the Postgres protocol on a
 * Unix socket in DATA_DIR (pglite-socket), and commands connect to it with pg. The socket is the
 * whole database with no authentication, so it lives in a directory only this user can enter.
 * Not on Windows (no Unix sockets there for pg): commands keep refusing while a server runs.
 */
export function shareEmbeddedDatabase(options: { knex: Knex; dataDir: string; logger: Logger; holdTimeoutMs?: number }): EmbeddedSocket {
  const { knex, logger } = options;
  const holdTimeoutMs = options.holdTimeoutMs ?? HOLD_TIMEOUT_MS;
  const directory = embeddedSocketDirectory(options.dataDir);
  const file = embeddedSocketFile(options.dataDir);
  const notShared = (reason: string): EmbeddedSocket => {
    logger.warn({ socket: file }, `gatehouse commands cannot run beside this server: ${reason}`);
    return { open: async () => {}, close: async () => {} };
  };
  if (process.platform === 'win32') return { open: async () => {}, close: async () => {} };
  if (Buffer.byteLength(file) > MAX_SOCKET_PATH_BYTES) return notShared('the socket path is too long for the OS; use a shorter DATA_DIR');
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const stats = lstatSync(directory);
  if (!stats.isDirectory() || stats.uid !== process.getuid?.()) return notShared(`${directory} is not a directory of this user`);
  chmodSync(directory, 0o700); // in case it was made by hand with looser rights
  // We hold the database's lock, so a socket file already there is a crashed server's.
  rmSync(file, { force: true });

  let relay: ((channel: string, payload: string) => void) | undefined;
  const connections = new Map<number, { handler: PGLiteSocketHandler; socket: Socket }>();
  const queue = createSharedSessionQueue({
    knex,
    onNotification: (channel, payload) => relay?.(channel, payload),
    holdTimeoutMs,
    onHoldTimeout: (id) => {
      logger.warn({ holdTimeoutMs }, 'a command kept the embedded database inside a transaction too long; disconnecting it');
      connections.get(id)?.socket.destroy();
    },
    onCleanupFailed: (err) => logger.error({ err: err.message }, 'could not roll back after a command disconnected'),
  });

  const server = createServer((socket) => {
    if (connections.size >= MAX_CONNECTIONS) return void socket.destroy();
    // The handler types its queue as pglite-socket's own class; ours has the same three methods.
    const handler = new PGLiteSocketHandler({ queryQueue: queue as SessionQueue as never, closeOnDetach: true });
    const id = handler.handlerId;
    connections.set(id, { handler, socket });
    const forget = () => connections.delete(id);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    handler.attach(socket).catch(() => socket.destroy());
  });
  server.on('error', (err) => logger.warn({ err: err.message, socket: file }, 'gatehouse commands cannot run beside this server'));
  server.listen(file, () => chmodSync(file, 0o600));

  return {
    async open({ channels, onNotification }) {
      relay = onNotification;
      // Postgres sends notifications only to a session that LISTENs; taken like any unit of work.
      const pglite = (await knex.client.acquireConnection()) as PGlite;
      try {
        for (const channel of channels) await pglite.listen(channel, (payload) => onNotification(channel, payload));
      } finally {
        await knex.client.releaseConnection(pglite);
      }
      queue.open();
    },
    async close() {
      queue.close();
      await Promise.all([...connections.values()].map(({ handler }) => handler.detach(true)));
      await new Promise<void>((done) => server.close(() => done()));
      rmSync(file, { force: true });
    },
  };
}
