import type { Knex } from 'knex';

/**
 * email is null for an account that lost an address it never proved to someone who proved it.
 * emailVerified: the address was proven (an upstream said so; later, a link mailed to it).
 */
export type Account = {
  id: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  createdAt: Date;
  /** Set by an operator (`users disable`): no sign-in, and findAccount refuses it. */
  disabledAt: Date | null;
};
/** passwordHash is null for an account made by an upstream sign-in: it has no password. */
export type AccountWithHash = Account & { passwordHash: string | null };

type Row = {
  id: string;
  email: string | null;
  email_verified: boolean;
  name: string | null;
  password_hash: string | null;
  created_at: Date;
  updated_at: Date;
  disabled_at: Date | null;
};

const fromRow = (r: Row): AccountWithHash => ({
  id: r.id,
  email: r.email,
  emailVerified: r.email_verified,
  name: r.name,
  passwordHash: r.password_hash,
  createdAt: new Date(r.created_at),
  disabledAt: r.disabled_at ? new Date(r.disabled_at) : null,
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
      const row = await unlessTaken(
        () =>
          knex<Row>('accounts')
            .insert({ email: a.email, email_verified: a.emailVerified === true, name: a.name, password_hash: a.passwordHash })
            .returning('*') as Promise<Row[]>,
      );
      return row && fromRow(row);
    },
    /** Marks the account's address (set to `email`) verified; undefined if another account holds it. */
    async markVerified(id: string, email: string): Promise<AccountWithHash | undefined> {
      const row = await unlessTaken(
        () => knex<Row>('accounts').where({ id }).update({ email, email_verified: true, updated_at: knex.fn.now() }).returning('*') as Promise<Row[]>,
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
    ...operatorQueries(knex, unlessTaken),
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;

/** What operators do to accounts (users list/update/disable/delete/import), beside sign-in's queries. */
function operatorQueries(knex: Knex, unlessTaken: (write: () => Promise<Row[]>) => Promise<Row | undefined>) {
  return {
    /** Every account with this address, holder or not (an operator looking for someone). */
    async findAllByEmail(email: string): Promise<AccountWithHash[]> {
      return ((await knex<Row>('accounts').where({ email }).orderBy('created_at')) as Row[]).map(fromRow);
    },
    /**
     * A page in creation order, after the row `after` names (a cursor from the previous page);
     * `search` matches part of the address (case-insensitive: addresses are stored lower-cased).
     * The cursor carries created_at in microseconds, as Postgres keeps it (a JS Date would round
     * it to milliseconds and repeat rows across pages).
     */
    async list(q: {
      search?: string;
      limit: number;
      after?: { createdMicros: string; id: string };
    }): Promise<{ accounts: AccountWithHash[]; last?: { createdMicros: string; id: string } }> {
      const query = knex<Row>('accounts')
        .select('*', knex.raw('(extract(epoch from created_at) * 1000000)::bigint::text as created_micros'))
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .limit(q.limit);
      if (q.search) query.whereRaw("email like ? escape '\\'", [`%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`]);
      if (q.after)
        query.whereRaw("(created_at, id) > (timestamptz 'epoch' + ?::bigint * interval '1 microsecond', ?::uuid)", [q.after.createdMicros, q.after.id]);
      const rows = (await query) as (Row & { created_micros: string })[];
      const last = rows.at(-1);
      return { accounts: rows.map(fromRow), last: last && { createdMicros: last.created_micros, id: last.id } };
    },
    /** Name, address and its verified state as given; undefined if the address has another holder. */
    async update(id: string, change: { name?: string | null; email?: string; emailVerified?: boolean }): Promise<AccountWithHash | undefined> {
      const row = await unlessTaken(
        () =>
          knex<Row>('accounts')
            .where({ id })
            .update({
              ...(change.name !== undefined ? { name: change.name } : {}),
              ...(change.email !== undefined ? { email: change.email } : {}),
              ...(change.emailVerified !== undefined ? { email_verified: change.emailVerified } : {}),
              updated_at: knex.fn.now(),
            })
            .returning('*') as Promise<Row[]>,
      );
      return row && fromRow(row);
    },
    async setDisabled(id: string, disabledAt: Date | null): Promise<AccountWithHash | undefined> {
      const [row] = (await knex<Row>('accounts').where({ id }).update({ disabled_at: disabledAt, updated_at: knex.fn.now() }).returning('*')) as Row[];
      return row && fromRow(row);
    },
    /** Deletes the row; what references it goes with it (ON DELETE CASCADE: consents, identities, links, grants index). */
    async delete(id: string): Promise<boolean> {
      return (await knex('accounts').where({ id }).delete()) > 0;
    },
    /**
     * All or nothing, in one transaction: each account is inserted in a savepoint, so that every
     * line whose address already has a holder is reported (by its index), and then nothing is
     * kept. A verified address is taken from accounts that had it unverified without holding it
     * (as claimVerifiedEmail does); their ids are returned for the audit trail.
     */
    async insertAll(
      accounts: { email: string; emailVerified: boolean; name: string | null; passwordHash: string | null }[],
    ): Promise<{ inserted: { index: number; id: string; released: string[] }[] } | { conflicts: number[] }> {
      const conflicts: number[] = [];
      const inserted: { index: number; id: string; released: string[] }[] = [];
      try {
        await knex.transaction(async (trx) => {
          for (const [index, a] of accounts.entries()) {
            const released = a.emailVerified
              ? (
                  (await trx<Row>('accounts')
                    .where({ email: a.email, email_verified: false })
                    .whereNull('password_hash')
                    .update({ email: null, updated_at: trx.fn.now() })
                    .returning('id')) as { id: string }[]
                ).map((r) => r.id)
              : [];
            const row = await unlessTaken(() =>
              trx.transaction(
                async (savepoint) =>
                  savepoint<Row>('accounts')
                    .insert({ email: a.email, email_verified: a.emailVerified, name: a.name, password_hash: a.passwordHash })
                    .returning('*') as Promise<Row[]>,
              ),
            );
            if (row) inserted.push({ index, id: row.id, released });
            else conflicts.push(index);
          }
          if (conflicts.length) throw new ImportRolledBack();
        });
      } catch (err) {
        if (err instanceof ImportRolledBack) return { conflicts };
        throw err;
      }
      return { inserted };
    },
  };
}

class ImportRolledBack extends Error {}
