import type { Knex } from 'knex';

export type Account = { id: string; email: string; name: string | null; createdAt: Date };
/** passwordHash is null for an account made by an upstream sign-in: it has no password. */
export type AccountWithHash = Account & { passwordHash: string | null };

type Row = { id: string; email: string; name: string | null; password_hash: string | null; created_at: Date };

const fromRow = (r: Row): AccountWithHash => ({
  id: r.id,
  email: r.email,
  name: r.name,
  passwordHash: r.password_hash,
  createdAt: new Date(r.created_at),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createAccountRepository(knex: Knex) {
  return {
    async findById(id: string): Promise<AccountWithHash | undefined> {
      // Not a uuid → cannot exist; asking Postgres would raise a cast error instead of "not found".
      if (!UUID.test(id)) return undefined;
      const row = await knex<Row>('accounts').where({ id }).first();
      return row && fromRow(row);
    },
    async findByEmail(email: string): Promise<AccountWithHash | undefined> {
      const row = await knex<Row>('accounts').where({ email }).first();
      return row && fromRow(row);
    },
    /** Returns undefined when the email is taken. */
    async insert(a: { email: string; name: string | null; passwordHash: string | null }): Promise<AccountWithHash | undefined> {
      const [row] = await knex<Row>('accounts')
        .insert({ email: a.email, name: a.name, password_hash: a.passwordHash })
        .onConflict('email')
        .ignore()
        .returning('*');
      return row && fromRow(row as Row);
    },
    async updatePasswordHash(id: string, passwordHash: string): Promise<void> {
      await knex('accounts').where({ id }).update({ password_hash: passwordHash, updated_at: knex.fn.now() });
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
