import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';
import type { EmbeddedSocket } from './embedded-socket.ts';

export type ChangeTopic = 'client' | 'resource' | 'signing-keys';
/** The Postgres channel notices travel on, `topic:id` each (a running embedded server relays them too). */
export const CHANGE_NOTICE_CHANNEL = 'gatehouse_changes';
export type ChangeNotice = { topic: ChangeTopic; id: string };
/** A `topic:id` payload as published (undefined when empty). */
export function parseChangeNotice(raw: string | undefined): ChangeNotice | undefined {
  const [topic, ...rest] = (raw ?? '').split(':');
  return topic ? ({ topic, id: rest.join(':') } as ChangeNotice) : undefined;
}

export type ChangeNotices = {
  /** Tells every instance (and this one) that a record changed, so caches drop it. */
  publish(notice: ChangeNotice): Promise<void>;
  subscribe(listener: (notice: ChangeNotice) => void): void;
  /**
   * Called at once with whether notices from other processes are being received, then on every
   * change: false when the listening connection is lost (notices sent meanwhile are missed), true
   * once it listens again.
   */
  onListening(listener: (isListening: boolean) => void): void;
  isListening(): boolean;
  /** Resolves once notices from other processes are being received (or the first attempt failed). */
  ready(): Promise<void>;
  close(): Promise<void>;
};

const FIRST_RETRY_MS = 250;
// A reconnect attempt is one TCP connection: cheap enough to keep trying every few seconds forever.
const MAX_RETRY_MS = 2_000;
// A connection that died without a FIN or RST (host gone, network cut) is only noticed by traffic.
const HEARTBEAT_MS = 15_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;
/** What the listener calls itself in pg_stat_activity, for operators (and tests) to find it. */
export const LISTENER_APPLICATION_NAME = 'gatehouse-change-notices';

/**
 * Cache invalidation between instances and the CLI over Postgres LISTEN/NOTIFY: the store that
 * changed is the one that announces it, so it works with or without Redis. Embedded PGlite is
 * single-process, so there notices stay in-process.
 *
 * A NOTIFY reaches only connections listening at that moment: while the listener is down, notices
 * are lost. So the listener reconnects forever (with backoff), and tells its subscribers when it is
 * and is not listening, so that caches neither trust what they hold meanwhile nor keep, after the
 * return, what they read before it (docs/dependency-notes.md).
 */
export function createChangeNotices(options: { knex: Knex; databaseUrl: string | undefined; channel?: string; logger?: Logger }): ChangeNotices {
  const channel = options.channel ?? CHANGE_NOTICE_CHANNEL;
  const local = new EventEmitter();
  let listener: pg.Client | undefined;
  let closed = false;
  // Embedded: nothing to listen to, every notice is in-process.
  let listening = !options.databaseUrl;
  let retryTimer: NodeJS.Timeout | undefined;
  let lostAt: number | undefined;
  let attempts = 0;

  const deliver = (raw: string | undefined) => {
    const notice = parseChangeNotice(raw);
    if (notice) local.emit('notice', notice);
  };
  const setListening = (value: boolean) => {
    if (listening === value) return;
    listening = value;
    local.emit('listening', value);
  };

  const retry = () => {
    if (closed || retryTimer) return;
    const base = Math.min(FIRST_RETRY_MS * 2 ** Math.min(attempts, 10), MAX_RETRY_MS);
    attempts += 1;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        void connect();
      },
      base * (0.8 + Math.random() * 0.4),
    ).unref();
  };

  /** Called once per connection that was listening and is no more. */
  const lost = (client: pg.Client, reason: string) => {
    if (listener !== client) return;
    listener = undefined;
    void client.end().catch(() => {});
    if (closed) return;
    lostAt = Date.now();
    options.logger?.warn({ err: reason }, 'change-notice listener lost; reconnecting (caches re-read Postgres meanwhile)');
    setListening(false);
    retry();
  };

  const connect = async (): Promise<boolean> => {
    if (closed) return false;
    const client = new pg.Client({ connectionString: options.databaseUrl, application_name: LISTENER_APPLICATION_NAME, keepAlive: true });
    client.on('notification', (m) => m.channel === channel && deliver(m.payload));
    client.on('error', (err) => lost(client, err.message));
    client.on('end', () => lost(client, 'connection ended'));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      void client.end().catch(() => {});
      // Logged when listening stops and when it is back, not at every attempt.
      if (lostAt === undefined) {
        lostAt = Date.now();
        options.logger?.warn({ err: (err as Error).message }, 'change-notice listener could not listen; retrying');
      }
      retry();
      return false;
    }
    // close() may have run while we were connecting, before it could see this client: without
    // this the open connection keeps a finished CLI command alive forever.
    if (closed) {
      await client.end().catch(() => {});
      return false;
    }
    listener = client;
    if (lostAt !== undefined) options.logger?.info({ downMs: Date.now() - lostAt, attempts }, 'change-notice listener listening again');
    const wasLost = lostAt !== undefined;
    lostAt = undefined;
    attempts = 0;
    setListening(true);
    // Signing keys are compared every few seconds anyway; a key change missed meanwhile is caught now.
    if (wasLost) local.emit('notice', { topic: 'signing-keys', id: '*' } satisfies ChangeNotice);
    return true;
  };

  // A query now and then on the listening connection: one that hangs means the connection is dead.
  const heartbeat = setInterval(() => {
    const client = listener;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('heartbeat timed out')), HEARTBEAT_TIMEOUT_MS)));
    Promise.race([client.query('select 1'), timeout])
      .catch((err: Error) => lost(client, err.message))
      .finally(() => clearTimeout(timer));
  }, HEARTBEAT_MS).unref();

  let ready: Promise<unknown> | undefined;
  const start = () => {
    if (options.databaseUrl) ready ??= connect();
  };
  return {
    async publish(notice) {
      const payload = `${notice.topic}:${notice.id}`;
      if (options.databaseUrl) await options.knex.raw('select pg_notify(?, ?)', [channel, payload]);
      else deliver(payload);
    },
    subscribe(fn) {
      local.on('notice', fn);
      start();
    },
    onListening(fn) {
      local.on('listening', fn);
      fn(listening);
      start();
    },
    isListening: () => listening,
    async ready() {
      await ready;
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(retryTimer);
      local.removeAllListeners();
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => {});
    },
  };
}

/**
 * A server on the embedded database: commands beside it publish their notices over its socket,
 * where they reach no listener of ours, so the socket hands them over and they are delivered here.
 */
export function shareChangeNotices(socket: EmbeddedSocket, notices: ChangeNotices): Promise<void> {
  return socket.open({
    channels: [CHANGE_NOTICE_CHANNEL],
    onNotification: (_channel, payload) => {
      const notice = parseChangeNotice(payload);
      if (notice) void notices.publish(notice); // embedded: delivered in this process
    },
  });
}
