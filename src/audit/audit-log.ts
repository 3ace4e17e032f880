import type { Knex } from 'knex';

export type AuditEvent = {
  type: string;
  clientId?: string;
  accountId?: string;
  ip?: string;
  /** Context only: never a secret, a password or a token. */
  details?: Record<string, unknown>;
};

export type StoredAuditEvent = AuditEvent & { id: number; occurredAt: Date };

type Row = { id: number; occurred_at: Date; type: string; client_id: string | null; account_id: string | null; ip: string | null; details: Record<string, unknown> };

export function createAuditLog(knex: Knex) {
  return {
    async record(event: AuditEvent): Promise<void> {
      await knex('audit_events').insert({
        type: event.type,
        client_id: event.clientId ?? null,
        account_id: event.accountId ?? null,
        ip: event.ip ?? null,
        details: JSON.stringify(event.details ?? {}),
      });
    },
    async list(filter: { type?: string; limit?: number } = {}): Promise<StoredAuditEvent[]> {
      const q = knex<Row>('audit_events').orderBy('id', 'desc').limit(filter.limit ?? 100);
      if (filter.type) q.where({ type: filter.type });
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
