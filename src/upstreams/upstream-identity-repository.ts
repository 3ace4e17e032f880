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
    /**
     * Removes the link unless it is the account's last way in: another link to an upstream that is
     * still configured (`isUsable`), or a password with an address to sign in with. One
     * transaction holding the account's row, so two unlinks at once cannot both take the last two.
     */
    async unlinkUnlessLast(
      accountId: string,
      upstreamId: string,
      subject: string,
      isUsable: (upstreamId: string) => boolean,
    ): Promise<'unlinked' | 'last_way_in' | 'not_found'> {
      return knex.transaction(async (trx) => {
        const account = (await trx('accounts').where({ id: accountId }).forUpdate().first('password_hash', 'email')) as
          | { password_hash: string | null; email: string | null }
          | undefined;
        if (!account) return 'not_found';
        const links = (await trx<Row>('upstream_identities').where({ account_id: accountId }).select('upstream_id', 'subject')) as Pick<
          Row,
          'upstream_id' | 'subject'
        >[];
        if (!links.some((l) => l.upstream_id === upstreamId && l.subject === subject)) return 'not_found';
        const hasPassword = account.password_hash !== null && account.email !== null;
        const others = links.filter((l) => !(l.upstream_id === upstreamId && l.subject === subject) && isUsable(l.upstream_id));
        if (!hasPassword && others.length === 0) return 'last_way_in';
        await trx('upstream_identities').where({ account_id: accountId, upstream_id: upstreamId, subject }).delete();
        return 'unlinked';
      });
    },
  };
}

export type UpstreamIdentityRepository = ReturnType<typeof createUpstreamIdentityRepository>;
