import type { Knex } from 'knex';

// Audit batches are retried when their INSERT fails, but an INSERT can commit and still fail for
// the client (Postgres crashes, or the connection drops, before its answer arrives): the retry then
// wrote every event of the batch twice. Each event now carries an id chosen when it is recorded, and
// a row whose id is already there is skipped (ON CONFLICT DO NOTHING). Rows from before keep a null
// id, which a unique index does not compare.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.uuid('event_id');
    t.unique(['event_id'], { indexName: 'audit_events_event_id_key' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_events', (t) => {
    t.dropUnique(['event_id'], 'audit_events_event_id_key');
    t.dropColumn('event_id');
  });
}
