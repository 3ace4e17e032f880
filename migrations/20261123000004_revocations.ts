import type { Knex } from 'knex';

// Revocation events for deployments without Redis: looked up by (kind, subject) on every
// introspection, read in id order by the revocation feed, swept once they expire (when every
// token they cover has expired).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('revocations', (t) => {
    t.bigIncrements('id');
    t.text('kind').notNullable();
    t.text('subject').notNullable();
    t.bigInteger('iat_before');
    t.jsonb('event').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['kind', 'subject'], 'revocations_lookup_idx');
    t.index(['expires_at'], 'revocations_expires_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('revocations');
}
