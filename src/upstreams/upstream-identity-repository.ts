import type { Knex } from 'knex';

type Row = { upstream_id: string; subject: string; account_id: string; email: string | null };

/** Which account an upstream's subject signs in to: one row per (upstream, subject). */
export function createUpstreamIdentityRepository(knex: Knex) {
  return {
    async findAccountId(upstreamId: string, subject: string): Promise<string | undefined> {
      const row = await knex<Row>('upstream_identities').select('account_id').where({ upstream_id: upstreamId, subject }).first();
      return row?.account_id;
    },
    /** Links the subject to the account; returns the account it is linked to (an earlier link wins a race). */
    async link(i: { upstreamId: string; subject: string; accountId: string; email: string | undefined }): Promise<string> {
      await knex('upstream_identities')
        .insert({ upstream_id: i.upstreamId, subject: i.subject, account_id: i.accountId, email: i.email ?? null })
        .onConflict(['upstream_id', 'subject'])
        .ignore();
      return (await this.findAccountId(i.upstreamId, i.subject))!;
    },
    async touch(upstreamId: string, subject: string, email: string | undefined): Promise<void> {
      await knex('upstream_identities')
        .where({ upstream_id: upstreamId, subject })
        .update({ last_sign_in_at: knex.fn.now(), ...(email ? { email } : {}) });
    },
  };
}

export type UpstreamIdentityRepository = ReturnType<typeof createUpstreamIdentityRepository>;
