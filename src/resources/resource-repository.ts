import type { Knex } from 'knex';
import { DEFAULT_SIGNING_ALG, type SigningAlg } from '../signing-keys/signer.ts';

/**
 * isRbac: user tokens for the API carry only scopes the user's roles grant (migration
 * 20261204010201). tokenClaims: claims its tokens carry besides the standard ones. signingAlg:
 * the JWS algorithm of its access tokens (20261204020101; RS256 unless the API chose another).
 */
export type ResourceServer = {
  identifier: string;
  scopes: string[];
  accessTokenTtlSeconds: number;
  isRbac: boolean;
  tokenClaims: string[];
  signingAlg: SigningAlg;
};

type Row = { identifier: string; scope: string; access_token_ttl_seconds: number; is_rbac: boolean; token_claims: string[]; signing_alg: SigningAlg | null };

const fromRow = (r: Row): ResourceServer => ({
  identifier: r.identifier,
  scopes: r.scope.split(' ').filter(Boolean),
  accessTokenTtlSeconds: r.access_token_ttl_seconds,
  isRbac: r.is_rbac,
  tokenClaims: r.token_claims ?? [],
  signingAlg: r.signing_alg ?? DEFAULT_SIGNING_ALG,
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
    /** The algorithms APIs chose other than the default (each needs its own signing key). */
    async signingAlgorithms(): Promise<SigningAlg[]> {
      const rows = await knex<Row>('resource_servers').distinct('signing_alg').whereNotNull('signing_alg');
      return rows.map((r) => r.signing_alg!);
    },
    /** Returns false when the identifier is taken. */
    async insert(r: ResourceServer): Promise<boolean> {
      const inserted = await knex('resource_servers')
        .insert({
          identifier: r.identifier,
          scope: r.scopes.join(' '),
          access_token_ttl_seconds: r.accessTokenTtlSeconds,
          is_rbac: r.isRbac,
          token_claims: JSON.stringify(r.tokenClaims),
          signing_alg: r.signingAlg === DEFAULT_SIGNING_ALG ? null : r.signingAlg,
        })
        .onConflict('identifier')
        .ignore()
        .returning('identifier');
      return inserted.length > 0;
    },
    /** Undefined when there is no such API. */
    async update(identifier: string, change: { isRbac?: boolean; tokenClaims?: string[]; signingAlg?: SigningAlg }): Promise<ResourceServer | undefined> {
      const rows = (await knex<Row>('resource_servers')
        .where({ identifier })
        .update({
          ...(change.isRbac === undefined ? {} : { is_rbac: change.isRbac }),
          ...(change.tokenClaims === undefined ? {} : { token_claims: JSON.stringify(change.tokenClaims) as unknown as string[] }),
          ...(change.signingAlg === undefined ? {} : { signing_alg: change.signingAlg === DEFAULT_SIGNING_ALG ? null : change.signingAlg }),
          updated_at: knex.fn.now(),
        } as Partial<Row>)
        .returning('*')) as Row[];
      return rows[0] && fromRow(rows[0]);
    },
  };
}

export type ResourceRepository = ReturnType<typeof createResourceRepository>;
