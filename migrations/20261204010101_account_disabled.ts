import type { Knex } from 'knex';

// Operators can disable a user (`gatehouse users disable`): the account and everything about it
// stay, but it cannot sign in (password or upstream), and findAccount refuses it, so refresh
// tokens and userinfo stop working too. A timestamp rather than a flag: when it happened is what
// an operator asks next. Null = enabled, which is every existing account.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.timestamp('disabled_at', { useTz: true });
  });
  // `users list` pages by (created_at, id).
  await knex.raw('create index accounts_created_at_idx on accounts (created_at, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists accounts_created_at_idx');
  await knex.schema.alterTable('accounts', (t) => {
    t.dropColumn('disabled_at');
  });
}
