import type { Knex } from 'knex';

/** knex's pool (tarn) as numbers, for the pool gauge; PGlite's single pinned connection has none. */
export function poolState(knex: Knex): { used: number; free: number; pending: number } | undefined {
  const pool = (knex.client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;
  return pool ? { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() } : undefined;
}
