import type { Knex } from 'knex';

// Single-use links (email verification, password reset). Only the SHA-256 digest of a token is
// stored: someone who reads the database (a backup, a replica) cannot use a link that is still
// live. A token is deleted when used, so "single use" is one atomic DELETE … RETURNING; expired
// ones are swept by expiry. Rows go with their account (ON DELETE CASCADE).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('one_time_tokens', (t) => {
    t.binary('digest').primary(); // sha256(token), 32 bytes
    t.text('purpose').notNullable();
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.jsonb('extra');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['account_id', 'purpose'], 'one_time_tokens_account_idx'); // invalidate(purpose, account)
    t.index(['expires_at'], 'one_time_tokens_expires_at_idx'); // for the sweeper
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('one_time_tokens');
}
