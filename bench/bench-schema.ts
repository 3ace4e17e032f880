import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ACCOUNT_CLIENT_ID } from '../src/clients/built-in-clients.ts';

/**
 * A Postgres schema of the bench's own. Gatehouse has no schema setting, so the server and the CLI
 * get it through libpq's `options` (`-c search_path=<schema>`) in DATABASE_URL: every unqualified
 * table, knex's migration tables included, then lives in that schema.
 */
export async function createBenchSchema(baseUrl: string) {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`create schema ${pg.escapeIdentifier(schema)}`);
  } finally {
    await admin.end();
  }
  const separator = baseUrl.includes('?') ? '&' : '?';
  const url = `${baseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

  return {
    schema,
    /** DATABASE_URL for Gatehouse: the same server, confined to the schema. */
    url,
    /** Proves the URL really confines a session: search_path and the tables Gatehouse made there. */
    async check(): Promise<{ searchPath: string; tables: string[]; clients: number; resources: number }> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const {
          rows: [sp],
        } = await client.query<{ search_path: string }>('show search_path');
        const { rows } = await client.query<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1 order by 1', [
          schema,
        ]);
        const count = async (table: string, where = 'true', values: string[] = []) =>
          (await client.query<{ n: number }>(`select count(*)::int as n from ${pg.escapeIdentifier(schema)}.${table} where ${where}`, values)).rows[0]!.n;
        return {
          searchPath: sp!.search_path,
          tables: rows.map((r) => r.table_name),
          // The CLI's clients: Gatehouse's own account-page client is there from the first start.
          clients: await count('clients', 'client_id <> $1', [ACCOUNT_CLIENT_ID]),
          resources: await count('resource_servers'),
        };
      } finally {
        await client.end();
      }
    },
    /** Bench only: announced signing keys may sign from now on, as if their announce period had passed. */
    async activateAnnouncedKeys(): Promise<void> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query("update signing_keys set activates_at = now() where status = 'next'");
      } finally {
        await client.end();
      }
    },
    async drop(): Promise<void> {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${pg.escapeIdentifier(schema)} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

export type BenchSchema = Awaited<ReturnType<typeof createBenchSchema>>;
