import type { Knex } from 'knex';

// Upstream (federated) sign-in: Google, Kakao, Naver and any OpenID Connect provider (issue 4).
export async function up(knex: Knex): Promise<void> {
  // An account created by an upstream sign-in has no password: null, never a placeholder hash
  // (authenticate() refuses such an account after the same argon2 work as an unknown email).
  await knex.schema.alterTable('accounts', (t) => {
    t.text('password_hash').nullable().alter();
  });

  // Upstreams added with the CLI (those from the environment are not stored). The client secret
  // is AES-256-GCM sealed under a key derived from GATEHOUSE_SECRET, the id as associated data.
  await knex.schema.createTable('upstreams', (t) => {
    t.text('id').primary();
    t.text('kind').notNullable();
    t.text('name').notNullable();
    t.text('issuer'); // oidc: discovery from here
    t.text('authorization_url'); // naver: fixed endpoints
    t.text('token_url');
    t.text('profile_url');
    t.text('client_id').notNullable();
    t.text('client_secret_sealed').notNullable();
    t.text('scope').notNullable().defaultTo('');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw("alter table upstreams add constraint upstreams_kind_check check (kind in ('oidc', 'naver'))");

  // Who an upstream says a user is: one row per (upstream, subject), pointing at one account.
  // Not a foreign key to upstreams: environment upstreams have no row there, and removing an
  // upstream must not silently delete accounts' links (adding it back restores them).
  await knex.schema.createTable('upstream_identities', (t) => {
    t.text('upstream_id').notNullable();
    t.text('subject').notNullable();
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('email'); // as the upstream last said, for operators; the account's email is what counts
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_sign_in_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['upstream_id', 'subject']);
    t.index(['account_id'], 'upstream_identities_account_id_idx'); // for the cascade
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('upstream_identities');
  await knex.schema.dropTableIfExists('upstreams');
  await knex('accounts').whereNull('password_hash').delete();
  await knex.schema.alterTable('accounts', (t) => {
    t.text('password_hash').notNullable().alter();
  });
}
