import type { Knex } from 'knex';

// Pre-account takeover (hardening item 1): an address nobody has proven must never own an
// account. Until now `accounts.email` was unique, so whoever used an address first — a password
// sign-up, or an upstream that does not vouch for it (Naver) — held it, and a verified upstream
// sign-in of the real owner was linked into that account.
//
// Now an account records whether its address was proven (`email_verified`: an upstream said
// `email_verified: true`; later also a link mailed to it), and the address "slot" is held by at
// most one account: a verified one, or a password account (its address is how it signs in, so two
// cannot share one). An account made from an unverified upstream email stores the address but
// holds no slot: it is never found by email, never linked to, and never makes a sign-up fail.
// When someone proves an address, unverified accounts lose it (email null): see account-service.
//
// Existing rows start unverified: nothing recorded which upstream sign-ins were verified. An
// account signed in to through its own upstream identity is verified again at its next sign-in
// when that upstream vouches for its address.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.boolean('email_verified').notNullable().defaultTo(false);
  });
  await knex.raw('alter table accounts drop constraint accounts_email_unique');
  await knex.raw('alter table accounts alter column email drop not null');
  await knex.raw('alter table accounts add constraint accounts_verified_has_email check (email is not null or not email_verified)');
  // The slot. Password sign-in and linking look addresses up with this same predicate.
  await knex.raw('create unique index accounts_email_holder on accounts (email) where email_verified or password_hash is not null');
  // Finding the unverified accounts that lose an address once someone proves it.
  await knex.raw('create index accounts_email_idx on accounts (email)');
}

export async function down(knex: Knex): Promise<void> {
  // Back to one account per address: accounts that hold no address, or share one they do not
  // hold, cannot be represented any more (as the upstream migration's down drops passwordless ones).
  await knex.raw(`delete from accounts a where a.email is null or (not a.email_verified and a.password_hash is null
    and exists (select 1 from accounts b where b.email = a.email and b.id <> a.id))`);
  await knex.raw('drop index accounts_email_idx');
  await knex.raw('drop index accounts_email_holder');
  await knex.raw('alter table accounts drop constraint accounts_verified_has_email');
  await knex.raw('alter table accounts alter column email set not null');
  await knex.raw('alter table accounts add constraint accounts_email_unique unique (email)');
  await knex.schema.alterTable('accounts', (t) => {
    t.dropColumn('email_verified');
  });
}
