import type { Knex } from 'knex';

// Permissions in the token (roles issue). An API's scopes used to go to whoever used a client
// holding them; now an API may define roles (named sets of its scopes), users are given roles,
// and with `is_rbac` a user token for that API carries only scopes the user's roles grant. An API
// may also name claims its tokens carry (`token_claims`): `roles` (the user's role names for it)
// and keys of the operator-set attributes of a user (account_attributes).
//
// Role rows hang on their API and user-role rows on both the user and the role: deleting a user
// (or a role) forgets the assignments, never leaving a grant of a role that no longer exists.
// Existing APIs start with role checking off and no extra claims, so nothing changes until an
// operator turns it on.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resource_servers', (t) => {
    t.boolean('is_rbac').notNullable().defaultTo(false);
    t.jsonb('token_claims').notNullable().defaultTo('[]'); // claim names, as an array
  });

  await knex.schema.createTable('resource_roles', (t) => {
    t.text('resource').notNullable().references('identifier').inTable('resource_servers').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('scope').notNullable(); // space-separated scopes of its API, as on the wire; may be empty
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['resource', 'name']);
  });

  // Read on every token request for an --rbac API (or one with token claims): by its primary key
  // prefix (account_id, resource).
  await knex.schema.createTable('account_roles', (t) => {
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('resource').notNullable();
    t.text('role').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['account_id', 'resource', 'role']);
    t.foreign(['resource', 'role']).references(['resource', 'name']).inTable('resource_roles').onDelete('CASCADE');
    t.index(['resource', 'role'], 'account_roles_role_idx'); // for the cascade when a role is deleted
  });

  // Trusted attributes an operator attaches to a user (a tenant, an employee number): a small
  // JSON object, of which an API's declared token claims are copied into its tokens.
  await knex.schema.createTable('account_attributes', (t) => {
    t.uuid('account_id').primary().references('id').inTable('accounts').onDelete('CASCADE');
    t.jsonb('attributes').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('account_attributes');
  await knex.schema.dropTableIfExists('account_roles');
  await knex.schema.dropTableIfExists('resource_roles');
  await knex.schema.alterTable('resource_servers', (t) => {
    t.dropColumn('token_claims');
    t.dropColumn('is_rbac');
  });
}
