import type { Knex } from 'knex';
import type { GatehouseClientMetadata } from './client-extras.ts';

/** A client as stored: oidc-provider's (snake_case) metadata with our extras. */
export type ClientMetadata = Record<string, unknown> & { client_id: string } & GatehouseClientMetadata;
export type StoredClient = { clientId: string; metadata: ClientMetadata; createdAt: Date; updatedAt: Date };

type Row = { client_id: string; metadata: ClientMetadata; created_at: Date; updated_at: Date };

const fromRow = (r: Row): StoredClient => ({
  clientId: r.client_id,
  metadata: r.metadata,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

export function createClientRepository(knex: Knex) {
  return {
    async findById(clientId: string): Promise<StoredClient | undefined> {
      const row = await knex<Row>('clients').where({ client_id: clientId }).first();
      return row && fromRow(row);
    },
    async list(): Promise<StoredClient[]> {
      return (await knex<Row>('clients').orderBy('created_at')).map(fromRow);
    },
    async insert(metadata: ClientMetadata): Promise<void> {
      await knex('clients').insert({ client_id: metadata.client_id, metadata: JSON.stringify(metadata) });
    },
    /** Inserts unless the id exists; true when it was inserted. */
    async insertIfAbsent(metadata: ClientMetadata): Promise<boolean> {
      const rows = await knex('clients')
        .insert({ client_id: metadata.client_id, metadata: JSON.stringify(metadata) })
        .onConflict('client_id')
        .ignore()
        .returning('client_id');
      return rows.length > 0;
    },
    async updateMetadata(metadata: ClientMetadata): Promise<boolean> {
      const n = await knex('clients')
        .where({ client_id: metadata.client_id })
        .update({ metadata: JSON.stringify(metadata), updated_at: knex.fn.now() });
      return n > 0;
    },
    async delete(clientId: string): Promise<boolean> {
      return (await knex('clients').where({ client_id: clientId }).delete()) > 0;
    },
  };
}

export type ClientRepository = ReturnType<typeof createClientRepository>;
