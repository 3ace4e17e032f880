import type { Knex } from 'knex';
import type { UpstreamSettings } from '../config/upstream-settings.ts';
import { openJson, sealJson } from '../crypto/seal-json.ts';

type Row = {
  id: string;
  kind: 'oidc' | 'naver';
  name: string;
  issuer: string | null;
  authorization_url: string | null;
  token_url: string | null;
  profile_url: string | null;
  client_id: string;
  client_secret_sealed: string;
  scope: string;
};

// The id is the associated data: a sealed secret copied onto another upstream's row fails to open.
const aad = (id: string) => `upstream-client-secret:${id}`;

/** Upstreams added with the CLI; the client secret is sealed at rest (AES-256-GCM). */
export function createUpstreamRepository(knex: Knex, sealingKey: Buffer) {
  const fromRow = (r: Row): UpstreamSettings => ({
    id: r.id,
    kind: r.kind,
    name: r.name,
    ...(r.issuer ? { issuer: r.issuer } : {}),
    ...(r.authorization_url ? { authorizationUrl: r.authorization_url } : {}),
    ...(r.token_url ? { tokenUrl: r.token_url } : {}),
    ...(r.profile_url ? { profileUrl: r.profile_url } : {}),
    clientId: r.client_id,
    clientSecret: openJson<string>(r.client_secret_sealed, sealingKey, aad(r.id)),
    scope: r.scope,
  });

  return {
    async list(): Promise<UpstreamSettings[]> {
      return (await knex<Row>('upstreams').orderBy('id')).map(fromRow);
    },
    async findById(id: string): Promise<UpstreamSettings | undefined> {
      const row = await knex<Row>('upstreams').where({ id }).first();
      return row && fromRow(row);
    },
    /** False when the id is taken. */
    async insert(u: UpstreamSettings): Promise<boolean> {
      const rows = await knex('upstreams')
        .insert({
          id: u.id,
          kind: u.kind,
          name: u.name,
          issuer: u.issuer ?? null,
          authorization_url: u.authorizationUrl ?? null,
          token_url: u.tokenUrl ?? null,
          profile_url: u.profileUrl ?? null,
          client_id: u.clientId,
          client_secret_sealed: sealJson(u.clientSecret, sealingKey, aad(u.id)),
          scope: u.scope,
        })
        .onConflict('id')
        .ignore()
        .returning('id');
      return rows.length > 0;
    },
    async delete(id: string): Promise<boolean> {
      return (await knex('upstreams').where({ id }).delete()) > 0;
    },
  };
}

export type UpstreamRepository = ReturnType<typeof createUpstreamRepository>;
