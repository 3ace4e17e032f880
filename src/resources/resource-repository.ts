import type { Knex } from 'knex';

export type ResourceServer = { identifier: string; scopes: string[]; accessTokenTtlSeconds: number };

type Row = { identifier: string; scope: string; access_token_ttl_seconds: number };

const fromRow = (r: Row): ResourceServer => ({
  identifier: r.identifier,
  scopes: r.scope.split(' ').filter(Boolean),
  accessTokenTtlSeconds: r.access_token_ttl_seconds,
});

export function createResourceRepository(knex: Knex) {
  return {
    async findByIdentifier(identifier: string): Promise<ResourceServer | undefined> {
      const row = await knex<Row>('resource_servers').where({ identifier }).first();
      return row && fromRow(row);
    },
    async list(): Promise<ResourceServer[]> {
      return (await knex<Row>('resource_servers').orderBy('created_at')).map(fromRow);
    },
    async maxAccessTokenTtlSeconds(): Promise<number | undefined> {
      const row = await knex('resource_servers').max<{ max: number | null }>('access_token_ttl_seconds as max').first();
      return row?.max ?? undefined;
    },
    /** Returns false when the identifier is taken. */
    async insert(r: ResourceServer): Promise<boolean> {
      const inserted = await knex('resource_servers')
        .insert({ identifier: r.identifier, scope: r.scopes.join(' '), access_token_ttl_seconds: r.accessTokenTtlSeconds })
        .onConflict('identifier')
        .ignore()
        .returning('identifier');
      return inserted.length > 0;
    },
  };
}

export type ResourceRepository = ReturnType<typeof createResourceRepository>;
