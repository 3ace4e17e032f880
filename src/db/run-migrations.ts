import type { Knex } from 'knex';
import * as initial from '../../migrations/20261123000001_initial.ts';
import * as signingKeyActivation from '../../migrations/20261123000002_signing_key_activation.ts';
import * as shortLivedEntries from '../../migrations/20261123000003_short_lived_entries.ts';
import * as revocations from '../../migrations/20261123000004_revocations.ts';
import * as auditEvents from '../../migrations/20261123000005_audit_events.ts';
import * as consents from '../../migrations/20261123000006_consents.ts';
import * as upstreamSignIn from '../../migrations/20261123000008_upstream_sign_in.ts';
import * as auditIndexes from '../../migrations/20261123000009_audit_indexes.ts';
import * as accountEmailVerified from '../../migrations/20261204000101_account_email_verified.ts';
import * as signInGrants from '../../migrations/20261204000102_sign_in_grants.ts';
import * as tokenDigests from '../../migrations/20261204000401_token_digests.ts';
import * as refreshTokenRotations from '../../migrations/20261204000501_refresh_token_rotations.ts';
import * as auditEventIds from '../../migrations/20261204000601_audit_event_ids.ts';
import * as oneTimeTokens from '../../migrations/20261204000801_one_time_tokens.ts';
import * as accountDisabled from '../../migrations/20261204010101_account_disabled.ts';
import * as tokenPermissions from '../../migrations/20261204010201_token_permissions.ts';
import * as registrationTokens from '../../migrations/20261204010301_registration_tokens.ts';
import * as signingAlgorithms from '../../migrations/20261204020101_signing_algorithms.ts';
import * as accountPageClient from '../../migrations/20261204020301_account_page_client.ts';

// Migrations are imported statically rather than discovered on disk: the list is explicit,
// and it works the same from the CLI, the server, tests and a container image.
const migrations: Record<string, Knex.Migration> = {
  '20261123000001_initial': initial,
  '20261123000002_signing_key_activation': signingKeyActivation,
  '20261123000003_short_lived_entries': shortLivedEntries,
  '20261123000004_revocations': revocations,
  '20261123000005_audit_events': auditEvents,
  '20261123000006_consents': consents,
  '20261123000008_upstream_sign_in': upstreamSignIn,
  '20261123000009_audit_indexes': auditIndexes,
  '20261204000101_account_email_verified': accountEmailVerified,
  '20261204000102_sign_in_grants': signInGrants,
  '20261204000401_token_digests': tokenDigests,
  '20261204000501_refresh_token_rotations': refreshTokenRotations,
  '20261204000601_audit_event_ids': auditEventIds,
  '20261204000801_one_time_tokens': oneTimeTokens,
  '20261204010101_account_disabled': accountDisabled,
  '20261204010201_token_permissions': tokenPermissions,
  '20261204010301_registration_tokens': registrationTokens,
  '20261204020101_signing_algorithms': signingAlgorithms,
  '20261204020301_account_page_client': accountPageClient,
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

/**
 * Applies pending migrations; returns the names applied. Safe when many instances start at once:
 * knex creates its own bookkeeping tables without any lock (two fresh instances collide on
 * `create table knex_migrations`), so the whole run holds a Postgres advisory lock, taken on a
 * connection of its own while knex migrates on others.
 */
export async function runMigrations(knex: Knex, schema?: string, options: { isEmbedded?: boolean } = {}): Promise<string[]> {
  const migrate = async () => {
    const [, applied] = await knex.migrate.latest({ migrationSource: source, schemaName: schema });
    return applied as string[];
  };
  // PGlite is one process with one connection: nothing to race, and no second connection to lock on.
  if (options.isEmbedded) return migrate();
  const lockName = `gatehouse-migrations:${schema ?? 'default'}`;
  return knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [lockName]);
    return migrate();
  });
}
