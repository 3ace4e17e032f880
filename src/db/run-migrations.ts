import type { Knex } from 'knex';
import * as initial from '../../migrations/20261123000001_initial.ts';
import * as signingKeyActivation from '../../migrations/20261123000002_signing_key_activation.ts';

// Migrations are imported statically rather than discovered on disk: the list is explicit,
// and it works the same from the CLI, the server, tests and a container image.
const migrations: Record<string, Knex.Migration> = {
  '20261123000001_initial': initial,
  '20261123000002_signing_key_activation': signingKeyActivation,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

/** Applies pending migrations; knex's lock table makes concurrent runs safe. Returns names applied. */
export async function runMigrations(knex: Knex, schema?: string): Promise<string[]> {
  // knex fails at once (MigrationLocked) when another instance holds the lock; instances that
  // start together wait for it instead, bounded at about a minute.
  for (let attempt = 0; ; attempt += 1) {
    try {
      const [, applied] = await knex.migrate.latest({ migrationSource: source, schemaName: schema });
      return applied as string[];
    } catch (err) {
      if ((err as Error).name !== 'MigrationLocked' || attempt >= 120) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
