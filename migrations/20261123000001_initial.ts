import type { Knex } from 'knex';

// The durable schema. Row shapes stay inside their repository files; these are the only DDL.
export async function up(knex: Knex): Promise<void> {
  // Users. Emails are stored lower-cased so the unique index is case-insensitive without citext
  // (PGlite has no citext by default).
  await knex.schema.createTable('accounts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('email').notNullable().unique();
    t.text('name');
    t.text('password_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // OAuth clients: metadata is oidc-provider's snake_case client metadata, with client_secret
  // holding only a keyed hash ("hmac-sha256:<hex>"), never the secret itself.
  await knex.schema.createTable('clients', (t) => {
    t.text('client_id').primary();
    t.jsonb('metadata').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // APIs (RFC 8707 resource indicators): identifier is the token audience.
  await knex.schema.createTable('resource_servers', (t) => {
    t.text('identifier').primary();
    t.text('scope').notNullable(); // space-separated, as on the wire
    t.integer('access_token_ttl_seconds').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  // oidc-provider's models (Grant, RefreshToken, … and, without Redis, the short-lived ones).
  // Payloads are open-ended JSON; only what the adapter queries is a column.
  await knex.schema.createTable('oidc_payloads', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('uid');
    t.text('account_id');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['model', 'id']);
    t.index(['grant_id'], 'oidc_payloads_grant_id_idx');
    t.index(['model', 'uid'], 'oidc_payloads_uid_idx');
    t.index(['account_id'], 'oidc_payloads_account_id_idx');
    t.index(['expires_at'], 'oidc_payloads_expires_at_idx'); // for the sweeper
  });

  // Signing keys. Lifecycle: next (published, not signing) → active (signing) → retired
  // (published until its tokens expire) → deleted. The private JWK is AES-256-GCM encrypted
  // under a key derived from GATEHOUSE_SECRET.
  await knex.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    t.text('status').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.text('private_jwk_encrypted').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('activated_at', { useTz: true });
    t.timestamp('retired_at', { useTz: true });
  });
  await knex.raw("alter table signing_keys add constraint signing_keys_status_check check (status in ('next', 'active', 'retired'))");
  // At most one key signs at a time.
  await knex.raw("create unique index signing_keys_one_active on signing_keys (status) where status = 'active'");
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['signing_keys', 'oidc_payloads', 'resource_servers', 'clients', 'accounts']) {
    await knex.schema.dropTableIfExists(table);
  }
}
