import type { Knex } from 'knex';

// Any fixed number, unique among our advisory locks: one sweeper at a time across instances.
const SWEEPER_LOCK = 0x6761_7465_0002;

export type SweepOptions = { batchSize: number; maxBatches: number; auditRetentionDays?: number };
export type SweepResult = { ran: boolean; deleted: Record<string, number> };

type Target = { name: string; table: string; where: string; bindings: number[]; clear?: string };

/**
 * What is worthless and when: rows past their own expiry, and audit events past retention.
 * Signing keys have their own lifecycle (retired keys are removed by the key schedule).
 * A refresh-token rotation's saved answer serves retries inside its grace window only: it is
 * cleared then, while the row (the spent token's tombstone) stays until the token's own expiry.
 */
function targets(options: SweepOptions): Target[] {
  const expired = (table: string) => ({ name: table, table, where: 'expires_at <= now()', bindings: [] });
  return [
    expired('oidc_payloads'),
    expired('short_lived_entries'),
    expired('revocations'),
    expired('one_time_tokens'), // single-use links past their lifetime (refused already, kept only until now)
    expired('refresh_token_rotations'),
    {
      name: 'refresh_token_answers',
      table: 'refresh_token_rotations',
      where: 'answer is not null and answer_expires_at <= now()',
      bindings: [],
      clear: 'answer',
    },
    expired('registration_tokens'), // what expired initial access tokens granted
    ...(options.auditRetentionDays
      ? [{ name: 'audit_events', table: 'audit_events', where: 'occurred_at <= now() - make_interval(days => ?)', bindings: [options.auditRetentionDays] }]
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
    for (const { name, table, where, bindings, clear } of targets(options)) {
      deleted[name] = 0;
      for (let batch = 0; batch < options.maxBatches; batch += 1) {
        // ctid = the row's physical address: change exactly the rows the bounded select found.
        const change = clear ? `update ?? set ${clear} = null` : 'delete from ??';
        const result = await trx.raw<{ rowCount: number | null; affectedRows?: number }>(
          `${change} where ctid in (select ctid from ?? where ${where} limit ?)`,
          [table, table, ...bindings, options.batchSize],
        );
        const n = Number(result.rowCount ?? result.affectedRows ?? 0);
        deleted[name] += n;
        if (n < options.batchSize) break;
      }
    }
    return { ran: true, deleted };
  });
}
