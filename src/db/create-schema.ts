import type { Knex } from 'knex';

/** Tests' schema per file. `create schema if not exists` is not safe against a concurrent twin: the loser gets a unique violation. */
export async function createSchema(knex: Knex, schema: string): Promise<void> {
  try {
    await knex.raw('create schema if not exists ??', [schema]);
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
  }
}
