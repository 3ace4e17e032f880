import type { Knex } from 'knex';

// One row per refresh-token rotation, written in the same transaction as the rotation itself
// (the spent token consumed and its row deleted, its successor saved), so Postgres alone decides
// what a retry gets, and a chain keeps one row in oidc_payloads however often it rotates:
// - `answer`: the token response the rotation returned, sealed under a key derived from the spent
//   token (useless to anyone who does not hold that token), for retries inside the client's grace
//   window; cleared by the sweeper once `answer_expires_at` passes.
// - the rest is the spent token's tombstone: which grant, client and account it belonged to, so a
//   replay is recognised and the grant revoked (RFC 9700 §4.14.2) until `expires_at`, the spent
//   token's own expiry; then the sweeper deletes the row.
// Tokens are known by their SHA-256 digest only; no token value is stored.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('refresh_token_rotations', (t) => {
    t.text('token_digest').primary();
    t.text('successor_digest').notNullable();
    t.text('grant_id').notNullable();
    t.text('client_id').notNullable();
    t.text('account_id').notNullable();
    t.text('scope');
    t.text('jkt'); // a DPoP-bound token stays bound in its tombstone
    t.timestamp('issued_at', { useTz: true }).notNullable();
    t.timestamp('rotated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('answer');
    t.timestamp('answer_expires_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['grant_id'], 'refresh_token_rotations_grant_id_idx'); // a revoked grant takes its tombstones
    t.index(['expires_at'], 'refresh_token_rotations_expires_at_idx'); // for the sweeper
  });
  // The sweeper clears answers past their window; only rows still holding one are indexed.
  await knex.raw('create index refresh_token_rotations_answer_idx on refresh_token_rotations (answer_expires_at) where answer is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('refresh_token_rotations');
}
