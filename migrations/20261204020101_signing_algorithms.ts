import type { Knex } from 'knex';

// An API may choose the JWS algorithm of its access tokens (RS256, the default, ES256 or EdDSA):
// `resource_servers.signing_alg`, null meaning RS256. Each algorithm in use has its own key
// lifecycle (next → active → retired), so "one active key" becomes one active key per algorithm.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resource_servers', (t) => {
    t.text('signing_alg');
  });
  await knex.raw("alter table resource_servers add constraint resource_servers_signing_alg_check check (signing_alg in ('RS256', 'ES256', 'EdDSA'))");
  await knex.raw('drop index signing_keys_one_active');
  await knex.raw("create unique index signing_keys_one_active on signing_keys (alg) where status = 'active'");
}

export async function down(knex: Knex): Promise<void> {
  await knex('signing_keys').whereNot({ alg: 'RS256' }).delete();
  await knex.raw('drop index signing_keys_one_active');
  await knex.raw("create unique index signing_keys_one_active on signing_keys (status) where status = 'active'");
  await knex.raw('alter table resource_servers drop constraint resource_servers_signing_alg_check');
  await knex.schema.alterTable('resource_servers', (t) => {
    t.dropColumn('signing_alg');
  });
}
