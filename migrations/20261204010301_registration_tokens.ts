import type { Knex } from 'knex';

// What an initial access token (RFC 7591 §3) lets a client that registers with it have: the APIs
// and API scopes an operator named (`gatehouse registration-tokens create`), and whether such
// clients may be confidential. The token itself is oidc-provider's InitialAccessToken, kept by its
// adapter; this row is keyed by the SHA-256 digest of the token (never the token), and expires
// with it (swept).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('registration_tokens', (t) => {
    t.binary('digest').primary(); // sha256(token), 32 bytes
    t.jsonb('apis').notNullable();
    t.jsonb('api_scopes').notNullable();
    t.boolean('is_public_only').notNullable().defaultTo(false);
    t.text('note');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at'], 'registration_tokens_expires_at_idx'); // for the sweeper
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('registration_tokens');
}
