import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';

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
  /** Resolves once notices from other processes are being received (or listening failed). */
  ready(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Cache invalidation between instances and the CLI over Postgres LISTEN/NOTIFY: the store that
 * changed is the one that announces it, so it works with or without Redis. Embedded PGlite is
 * single-process, so there notices stay in-process.
 */
export function createChangeNotices(
  options: { knex: Knex; databaseUrl: string | undefined; channel?: string; logger?: Logger },
): ChangeNotices {
  const channel = options.channel ?? CHANGE_NOTICE_CHANNEL;
  const local = new EventEmitter();
  let listener: pg.Client | undefined;
  let closed = false;
  let retryMs = 500;

  const deliver = (raw: string | undefined) => {
    const notice = parseChangeNotice(raw);
    if (notice) local.emit('notice', notice);
  };

  const listen = async () => {
    if (!options.databaseUrl || closed) return;
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on('notification', (m) => m.channel === channel && deliver(m.payload));
    client.on('error', (err) => {
      options.logger?.warn({ err: err.message }, 'change-notice listener lost; reconnecting');
      // While disconnected a notice may be missed: caches also expire on their own (short TTL).
      local.emit('notice', { topic: 'client', id: '*' });
      local.emit('notice', { topic: 'resource', id: '*' });
      void client.end().catch(() => {});
      if (!closed) setTimeout(() => void listen().catch(() => {}), retryMs).unref();
      retryMs = Math.min(retryMs * 2, 30_000);
    });
    await client.connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    retryMs = 500;
    listener = client;
    // close() may have run while we were connecting, before it could see this client: without
    // this the open connection keeps a finished CLI command alive forever.
    if (closed) await client.end().catch(() => {});
  };

  let ready: Promise<void> | undefined;
  return {
    async publish(notice) {
      const payload = `${notice.topic}:${notice.id}`;
      if (options.databaseUrl) await options.knex.raw('select pg_notify(?, ?)', [channel, payload]);
      else deliver(payload);
    },
    subscribe(fn) {
      local.on('notice', fn);
      ready ??= listen().catch((err: Error) => options.logger?.warn({ err: err.message }, 'change-notice listener failed'));
    },
    async ready() {
      await ready;
    },
    async close() {
      closed = true;
      local.removeAllListeners();
      await listener?.end().catch(() => {});
    },
  };
}
