import type { Knex } from 'knex';

// Any fixed number, unique among our advisory locks: one sweeper at a time across instances.
const SWEEPER_LOCK = 0x6761_7465_0002;

export type SweepOptions = { batchSize: number; maxBatches: number; auditRetentionDays?: number };
export type SweepResult = { ran: boolean; deleted: Record<string, number> };

/**
 * What is worthless and when: rows past their own expiry, and audit events past retention.
 * Signing keys have their own lifecycle (retired keys are removed by the key schedule).
 */
function targets(options: SweepOptions): { table: string; where: string; bindings: number[] }[] {
  const expired = (table: string) => ({ table, where: 'expires_at <= now()', bindings: [] });
  return [
    expired('oidc_payloads'),
    expired('short_lived_entries'),
    expired('revocations'),
    expired('one_time_tokens'), // single-use links past their lifetime (refused already, kept only until now)
    expired('registration_tokens'), // what expired initial access tokens granted
    ...(options.auditRetentionDays
      ? [{ table: 'audit_events', where: "occurred_at <= now() - make_interval(days => ?)", bindings: [options.auditRetentionDays] }]
      : []),
  ];
}

/**
 * Deletes worthless rows in bounded batches (short statements, no long table locks), up to
 * `maxBatches` per table per pass; whatever is left waits for the next pass. Returns false in
 * `ran` when another instance is sweeping.
 */
export async function sweepExpired(knex: Knex, options: SweepOptions): Promise<SweepResult> {
  return knex.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: { locked: boolean }[] }>('select pg_try_advisory_xact_lock(?) as locked', [SWEEPER_LOCK]);
    if (!rows[0]?.locked) return { ran: false, deleted: {} };
    const deleted: Record<string, number> = {};
    for (const { table, where, bindings } of targets(options)) {
      deleted[table] = 0;
      for (let batch = 0; batch < options.maxBatches; batch += 1) {
        // ctid = the row's physical address: delete exactly the rows the bounded select found.
        const result = await trx.raw<{ rowCount: number | null; affectedRows?: number }>(
          `delete from ?? where ctid in (select ctid from ?? where ${where} limit ?)`,
          [table, table, ...bindings, options.batchSize],
        );
        const n = Number(result.rowCount ?? result.affectedRows ?? 0);
        deleted[table] += n;
        if (n < options.batchSize) break;
      }
    }
    return { ran: true, deleted };
  });
}
