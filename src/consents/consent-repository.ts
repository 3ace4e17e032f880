import type { Knex } from 'knex';

/** What one user allowed one client: OpenID scopes and claims, and scopes per API (resource). */
export type Consent = { oidcScopes: string[]; oidcClaims: string[]; resourceScopes: Record<string, string[]> };

type Row = { account_id: string; client_id: string; oidc_scope: string; oidc_claims: string[]; resource_scopes: Record<string, string> };

const words = (s: string) => s.split(' ').filter(Boolean);
const fromRow = (r: Row): Consent => ({
  oidcScopes: words(r.oidc_scope),
  oidcClaims: r.oidc_claims,
  resourceScopes: Object.fromEntries(Object.entries(r.resource_scopes).map(([resource, scope]) => [resource, words(scope)])),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createConsentRepository(knex: Knex) {
  return {
    async find(accountId: string, clientId: string): Promise<Consent | undefined> {
      if (!UUID.test(accountId)) return undefined; // not an account id: a cast error in Postgres otherwise
      const row = await knex<Row>('consents').where({ account_id: accountId, client_id: clientId }).first();
      return row && fromRow(row);
    },
    /** Inserts or replaces the whole record. A client deleted meanwhile fails the foreign key: nothing to remember. */
    async upsert(accountId: string, clientId: string, consent: Consent): Promise<void> {
      const row = {
        account_id: accountId,
        client_id: clientId,
        oidc_scope: consent.oidcScopes.join(' '),
        oidc_claims: JSON.stringify(consent.oidcClaims),
        resource_scopes: JSON.stringify(Object.fromEntries(Object.entries(consent.resourceScopes).map(([r, s]) => [r, s.join(' ')]))),
      };
      await knex('consents')
        .insert(row)
        .onConflict(['account_id', 'client_id'])
        .merge({ ...row, updated_at: knex.fn.now() });
    },
    /** Forgets what the user allowed the client: the next sign-in there asks again. */
    async delete(accountId: string, clientId: string): Promise<boolean> {
      if (!UUID.test(accountId)) return false;
      return (await knex('consents').where({ account_id: accountId, client_id: clientId }).delete()) > 0;
    },
    /** The clients this user allowed anything (the account page's "apps with access"). */
    async clientIdsFor(accountId: string): Promise<string[]> {
      if (!UUID.test(accountId)) return [];
      return ((await knex('consents').where({ account_id: accountId }).select('client_id')) as { client_id: string }[]).map((r) => r.client_id);
    },
  };
}

export type ConsentRepository = ReturnType<typeof createConsentRepository>;
