import type { Knex } from 'knex';

/**
 * email is null for an account that lost an address it never proved to someone who proved it.
 * emailVerified: the address was proven (an upstream said so; later, a link mailed to it).
 */
export type Account = { id: string; email: string | null; emailVerified: boolean; name: string | null; createdAt: Date };
/** passwordHash is null for an account made by an upstream sign-in: it has no password. */
export type AccountWithHash = Account & { passwordHash: string | null };

type Row = { id: string; email: string | null; email_verified: boolean; name: string | null; password_hash: string | null; created_at: Date; updated_at: Date };

const fromRow = (r: Row): AccountWithHash => ({
  id: r.id,
  email: r.email,
  emailVerified: r.email_verified,
  name: r.name,
  passwordHash: r.password_hash,
  createdAt: new Date(r.created_at),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = '23505';

// The account holding an address (migration 20261204000101): a verified one, or a password
// account. The same predicate as the unique index accounts_email_holder.
const holds = (q: Knex.QueryBuilder) => q.where((w) => w.where('email_verified', true).orWhereNotNull('password_hash'));

export function createAccountRepository(knex: Knex) {
  /** An insert or update that would give an address a second holder: false instead of a driver error. */
  const unlessTaken = async (write: () => Promise<Row[]>): Promise<Row | undefined> => {
    try {
      return (await write())[0];
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return undefined;
      throw err;
    }
  };

  return {
    async findById(id: string): Promise<AccountWithHash | undefined> {
      // Not a uuid → cannot exist; asking Postgres would raise a cast error instead of "not found".
      if (!UUID.test(id)) return undefined;
      const row = await knex<Row>('accounts').where({ id }).first();
      return row && fromRow(row);
    },
    /** The account that holds this address (verified, or signing in with it by password), if any. */
    async findHolder(email: string): Promise<AccountWithHash | undefined> {
      const row = await holds(knex<Row>('accounts').where({ email })).first();
      return row && fromRow(row as Row);
    },
    /** Unverified unless said otherwise. Undefined when the address already has a holder (and this account would hold it). */
    async insert(a: { email: string; emailVerified?: boolean; name: string | null; passwordHash: string | null }): Promise<AccountWithHash | undefined> {
      const row = await unlessTaken(() =>
        knex<Row>('accounts')
          .insert({ email: a.email, email_verified: a.emailVerified === true, name: a.name, password_hash: a.passwordHash })
          .returning('*') as Promise<Row[]>,
      );
      return row && fromRow(row);
    },
    /** Marks the account's address (set to `email`) verified; undefined if another account holds it. */
    async markVerified(id: string, email: string): Promise<AccountWithHash | undefined> {
      const row = await unlessTaken(() =>
        knex<Row>('accounts').where({ id }).update({ email, email_verified: true, updated_at: knex.fn.now() }).returning('*') as Promise<Row[]>,
      );
      return row && fromRow(row);
    },
    /** Takes the address away from every account that has it unverified (but `exceptId`); their ids. */
    async releaseUnverified(email: string, exceptId?: string): Promise<string[]> {
      const q = knex<Row>('accounts').where({ email, email_verified: false });
      if (exceptId) q.whereNot({ id: exceptId });
      const rows = (await q.update({ email: null, updated_at: knex.fn.now() }).returning('id')) as { id: string }[];
      return rows.map((r) => r.id);
    },
    async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
      await knex('accounts').where({ id }).update({ password_hash: passwordHash, updated_at: knex.fn.now() });
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
