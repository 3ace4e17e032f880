import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export type AuditEvent = {
  type: string;
  clientId?: string;
  accountId?: string;
  ip?: string;
  /** Context only: never a secret, a password or a token. */
  details?: Record<string, unknown>;
};

/**
 * Who made a change: the CLI, an admin API caller (its client id and address), a client
 * registering itself (RFC 7591), or the user on their own account page.
 */
export type Actor = { via: 'cli' | 'admin_api' | 'registration' | 'account_page'; clientId?: string; ip?: string };

export type StoredAuditEvent = AuditEvent & { id: number; occurredAt: Date };

export type AuditFilter = { type?: string; clientId?: string; accountId?: string; since?: Date; limit?: number };

type Row = {
  id: number;
  occurred_at: Date;
  type: string;
  client_id: string | null;
  account_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
};

const FLUSH_INTERVAL_MS = 250;
const FLUSH_BATCH = 500;
const MAX_BUFFERED = 50_000;

/**
 * The audit trail in Postgres. `record` writes at once (rare events: sign-ins, changes, reuse);
 * `recordSoon` is for high-volume events (every token issued): buffered in memory and written as
 * one multi-row INSERT every 250 ms or 500 events, so the token endpoint never waits on Postgres.
 * close() writes what is left. A failed flush is logged and retried with the next one (each event
 * has an id, so a batch that was written but whose answer was lost is not written twice); past
 * 50,000 waiting events the oldest are dropped and counted (onDropped), so an outage cannot
 * exhaust memory. `recordCounted` is for events that differ only in when they happened (a
 * service's client-credentials tokens): one row per flush with `details.count` and the time of
 * the last one, instead of a row each — the trail stays readable and Postgres is spared.
 */
export function createAuditLog(
  knex: Knex,
  options: { onFlushError?: (err: Error) => void; onDropped?: (count: number) => void; occurredAt?: () => Date } = {},
) {
  const occurredAt = options.occurredAt ?? (() => new Date());
  // The id is chosen once, here: a batch sent again after a lost answer carries the same ids, and
  // rows already written are skipped (migration 20261204000601).
  const toRow = (event: AuditEvent, at: Date) => ({
    event_id: randomUUID(),
    occurred_at: at,
    type: event.type,
    client_id: event.clientId ?? null,
    account_id: event.accountId ?? null,
    ip: event.ip ?? null,
    details: JSON.stringify(event.details ?? {}),
  });
  const insert = (rows: ReturnType<typeof toRow> | ReturnType<typeof toRow>[]) => knex('audit_events').insert(rows).onConflict('event_id').ignore();
  let buffer: ReturnType<typeof toRow>[] = [];
  let counted = new Map<string, { event: AuditEvent; first: Date; last: Date; count: number }>();
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      void flush();
    }, FLUSH_INTERVAL_MS).unref();
  };

  const flush = async (): Promise<void> => {
    if (flushing) await flushing;
    for (const { event, first, last, count } of counted.values()) {
      buffer.push(toRow({ ...event, details: { ...event.details, count, last_at: last.toISOString() } }, first));
    }
    counted = new Map();
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    flushing = (async () => {
      try {
        for (let i = 0; i < batch.length; i += FLUSH_BATCH) await insert(batch.slice(i, i + FLUSH_BATCH));
      } catch (err) {
        buffer = batch.concat(buffer); // retried with the next flush
        options.onFlushError?.(err as Error);
      }
    })();
    await flushing;
    flushing = undefined;
  };

  return {
    async record(event: AuditEvent): Promise<void> {
      await insert(toRow(event, occurredAt()));
    },

    recordSoon(event: AuditEvent): void {
      buffer.push(toRow(event, occurredAt()));
      if (buffer.length > MAX_BUFFERED) {
        const dropped = buffer.length - MAX_BUFFERED;
        buffer.splice(0, dropped);
        options.onDropped?.(dropped);
      }
      if (buffer.length >= FLUSH_BATCH) void flush();
      else schedule();
    },

    /** Buffered and counted: equal events (type, client, account, IP, details) become one row per flush. */
    recordCounted(event: AuditEvent): void {
      const key = `${event.type}\n${event.clientId ?? ''}\n${event.accountId ?? ''}\n${event.ip ?? ''}\n${JSON.stringify(event.details ?? {})}`;
      const at = occurredAt();
      const entry = counted.get(key);
      if (entry) {
        entry.count += 1;
        entry.last = at;
      } else {
        counted.set(key, { event, first: at, last: at, count: 1 });
        schedule();
      }
    },

    /** Writes every buffered event now (tests; close). */
    flush,

    async close(): Promise<void> {
      clearTimeout(timer);
      timer = undefined;
      await flush();
    },

    async list(filter: AuditFilter = {}): Promise<StoredAuditEvent[]> {
      const q = knex<Row>('audit_events')
        .orderBy('id', 'desc')
        .limit(filter.limit ?? 100);
      if (filter.type) q.where({ type: filter.type });
      if (filter.clientId) q.where({ client_id: filter.clientId });
      if (filter.accountId) q.where({ account_id: filter.accountId });
      if (filter.since) q.where('occurred_at', '>=', filter.since);
      return (await q).map((r) => ({
        id: r.id,
        occurredAt: new Date(r.occurred_at),
        type: r.type,
        clientId: r.client_id ?? undefined,
        accountId: r.account_id ?? undefined,
        ip: r.ip ?? undefined,
        details: r.details,
      }));
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
