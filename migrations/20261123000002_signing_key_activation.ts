import type { Knex } from 'knex';

// A `next` key records when it may start signing: published first, for at least the JWKS cache
// lifetime, so every resource server has it before the first token it signs arrives.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.timestamp('activates_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.dropColumn('activates_at');
  });
}
