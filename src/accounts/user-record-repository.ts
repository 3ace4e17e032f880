import type { Knex } from 'knex';

export type UpstreamIdentity = { upstream: string; subject: string; email: string | null; createdAt: Date; lastSignInAt: Date };
export type ConsentRecord = { clientId: string; scope: string; claims: string[]; resourceScopes: Record<string, string>; createdAt: Date; updatedAt: Date };
/** Grants as counts per client: their ids are storage keys, never shown. */
export type GrantSummary = { clientId: string; offline: number; shared: number; lastCreatedAt: Date };

/**
 * Reads what other tables hold about one account, for operators (`users show`, `users export`):
 * its upstream identities, its consents and a summary of its sign-in grants. Read-only; each
 * table's writes stay with its own repository.
 */
export function createUserRecordRepository(knex: Knex) {
  return {
    async identities(accountId: string): Promise<UpstreamIdentity[]> {
      const rows = await knex('upstream_identities').where({ account_id: accountId }).orderBy('created_at');
      return rows.map((r: { upstream_id: string; subject: string; email: string | null; created_at: Date; last_sign_in_at: Date }) => ({
        upstream: r.upstream_id,
        subject: r.subject,
        email: r.email,
        createdAt: new Date(r.created_at),
        lastSignInAt: new Date(r.last_sign_in_at),
      }));
    },
    async consents(accountId: string): Promise<ConsentRecord[]> {
      const rows = await knex('consents').where({ account_id: accountId }).orderBy('created_at');
      return rows.map(
        (r: { client_id: string; oidc_scope: string; oidc_claims: string[]; resource_scopes: Record<string, string>; created_at: Date; updated_at: Date }) => ({
          clientId: r.client_id,
          scope: r.oidc_scope,
          claims: r.oidc_claims,
          resourceScopes: r.resource_scopes,
          createdAt: new Date(r.created_at),
          updatedAt: new Date(r.updated_at),
        }),
      );
    },
    async grants(accountId: string): Promise<GrantSummary[]> {
      const rows = await knex('sign_in_grants')
        .select('client_id')
        .select(
          knex.raw('count(*) filter (where is_offline)::int as offline'),
          knex.raw('count(*) filter (where not is_offline)::int as shared'),
          knex.raw('max(created_at) as last_created_at'),
        )
        .where({ account_id: accountId })
        .groupBy('client_id')
        .orderBy('client_id');
      return rows.map((r: { client_id: string; offline: number; shared: number; last_created_at: Date }) => ({
        clientId: r.client_id,
        offline: Number(r.offline),
        shared: Number(r.shared),
        lastCreatedAt: new Date(r.last_created_at),
      }));
    },
  };
}

export type UserRecordRepository = ReturnType<typeof createUserRecordRepository>;
