import type { Knex } from 'knex';

// Tables whose rows carry an expiry and are worthless after it. Signing keys have their own
// lifecycle (retired keys are removed by the key schedule).
const EXPIRING_TABLES = ['oidc_payloads', 'short_lived_entries', 'revocations'] as const;

// Any fixed number, unique among our advisory locks: one sweeper at a time across instances.
const SWEEPER_LOCK = 0x6761_7465_0002;

export type SweepResult = { ran: boolean; deleted: Record<string, number> };

/**
 * Deletes expired rows in bounded batches (short transactions, no long table locks), up to
 * `maxBatches` per table per pass; whatever is left waits for the next pass. Returns false in
 * `ran` when another instance is sweeping.
 */
export async function sweepExpired(knex: Knex, options: { batchSize: number; maxBatches: number }): Promise<SweepResult> {
  return knex.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: { locked: boolean }[] }>('select pg_try_advisory_xact_lock(?) as locked', [SWEEPER_LOCK]);
    if (!rows[0]?.locked) return { ran: false, deleted: {} };
    const deleted: Record<string, number> = {};
    for (const table of EXPIRING_TABLES) {
      deleted[table] = 0;
      for (let batch = 0; batch < options.maxBatches; batch += 1) {
        // ctid = the row's physical address: delete exactly the rows the bounded select found.
        const result = await trx.raw<{ rowCount: number | null; affectedRows?: number }>(
          `delete from ?? where ctid in (select ctid from ?? where expires_at <= now() limit ?)`,
          [table, table, options.batchSize],
        );
        const n = Number(result.rowCount ?? result.affectedRows ?? 0);
        deleted[table] += n;
        if (n < options.batchSize) break;
      }
    }
    return { ran: true, deleted };
  });
}
