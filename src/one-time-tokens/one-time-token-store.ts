import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/** What a single-use link is for; a token of one purpose is never accepted for another. */
export type OneTimeTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

/**
 * How long each kind of link lives (the accounts issue: verification 24 h, reset 30 min). A new
 * address from the account page is proven like any verification (24 h).
 */
export const ONE_TIME_TOKEN_TTL_SECONDS: Readonly<Record<OneTimeTokenPurpose, number>> = Object.freeze({
  verify_email: 24 * 3600,
  reset_password: 30 * 60,
  change_email: 24 * 3600,
});

export type OneTimeToken = {
  purpose: OneTimeTokenPurpose;
  accountId: string;
  /** What the link was made for besides the account, e.g. the address a verification was sent to. */
  extra: Record<string, unknown> | null;
  createdAt: Date;
  expiresAt: Date;
};

type Row = { purpose: string; account_id: string; extra: Record<string, unknown> | null; created_at: Date; expires_at: Date };

const fromRow = (r: Row): OneTimeToken => ({
  purpose: r.purpose as OneTimeTokenPurpose,
  accountId: r.account_id,
  extra: r.extra ?? null,
  createdAt: new Date(r.created_at),
  expiresAt: new Date(r.expires_at),
});

// 32 random bytes (256 bits) in base64url: 43 characters, safe in a URL without escaping.
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// A plain SHA-256 suffices (no salt, no slow hash): the token has 256 bits of entropy, so the
// digest cannot be reversed by guessing, and looking a row up by it leaks nothing useful in timing.
const digestOf = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * Tokens for single-use links (email verification, password reset). The token goes into the
 * link; Postgres keeps only its digest. Consuming deletes the row, so of any number of
 * concurrent uses exactly one gets the record. Expired tokens are refused and later swept
 * (src/sweeper/sweep-expired.ts).
 */
export function createOneTimeTokenStore(knex: Knex, options: { now?: () => Date } = {}) {
  const now = options.now ?? (() => new Date());
  const columns = ['purpose', 'account_id', 'extra', 'created_at', 'expires_at'];

  const insert = async (db: Knex | Knex.Transaction, purpose: OneTimeTokenPurpose, accountId: string, ttlSeconds: number, extra?: Record<string, unknown>) => {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError('ttlSeconds must be a positive integer');
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const createdAt = now();
    await db('one_time_tokens').insert({
      digest: digestOf(token),
      purpose,
      account_id: accountId,
      extra: extra === undefined ? null : JSON.stringify(extra),
      created_at: createdAt,
      expires_at: new Date(createdAt.getTime() + ttlSeconds * 1000),
    });
    return token;
  };

  const invalidate = async (db: Knex | Knex.Transaction, purpose: OneTimeTokenPurpose, accountId: string) =>
    UUID.test(accountId) ? Number(await db('one_time_tokens').where({ purpose, account_id: accountId }).delete()) : 0;

  return {
    /** A new token for the account; older ones of the same purpose stay valid. Returns the token (for the link only). */
    create: (purpose: OneTimeTokenPurpose, accountId: string, ttlSeconds: number, extra?: Record<string, unknown>): Promise<string> =>
      insert(knex, purpose, accountId, ttlSeconds, extra),

    /**
     * A new token that voids every outstanding one of the same purpose for the account (a new
     * reset link makes older ones useless). Serialised per account and purpose, so two requests
     * at once still leave exactly one live token.
     */
    replace: (purpose: OneTimeTokenPurpose, accountId: string, ttlSeconds: number, extra?: Record<string, unknown>): Promise<string> =>
      knex.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`one-time-token:${purpose}:${accountId}`]);
        await invalidate(trx, purpose, accountId);
        return insert(trx, purpose, accountId, ttlSeconds, extra);
      }),

    /**
     * Uses a token: its record exactly once, or undefined (unknown, already used, expired, or of
     * another purpose). Atomic: one DELETE … RETURNING, so concurrent callers cannot both win.
     */
    async consume(purpose: OneTimeTokenPurpose, token: string): Promise<OneTimeToken | undefined> {
      if (!TOKEN_SHAPE.test(token)) return undefined; // anything else cannot exist; spare the database
      const rows: Row[] = await knex('one_time_tokens')
        .where({ digest: digestOf(token), purpose })
        .andWhere('expires_at', '>', now())
        .delete()
        .returning(columns);
      return rows[0] && fromRow(rows[0]);
    },

    /**
     * Looks a token up without using it. For a page that shows a form first (GET) and consumes
     * on submit (POST): mail scanners follow links in messages, so a GET must never use one up.
     */
    async find(purpose: OneTimeTokenPurpose, token: string): Promise<OneTimeToken | undefined> {
      if (!TOKEN_SHAPE.test(token)) return undefined;
      const row: Row | undefined = await knex('one_time_tokens')
        .select(columns)
        .where({ digest: digestOf(token), purpose })
        .andWhere('expires_at', '>', now())
        .first();
      return row && fromRow(row);
    },

    /** The newest live token of one purpose for an account, without using it (a pending change to show). */
    async latest(purpose: OneTimeTokenPurpose, accountId: string): Promise<OneTimeToken | undefined> {
      if (!UUID.test(accountId)) return undefined;
      const row: Row | undefined = await knex('one_time_tokens')
        .select(columns)
        .where({ purpose, account_id: accountId })
        .andWhere('expires_at', '>', now())
        .orderBy('created_at', 'desc')
        .first();
      return row && fromRow(row);
    },

    /** Voids every outstanding token of one purpose for an account (a password change voids reset links). Returns how many. */
    invalidate: (purpose: OneTimeTokenPurpose, accountId: string): Promise<number> => invalidate(knex, purpose, accountId),
  };
}

export type OneTimeTokenStore = ReturnType<typeof createOneTimeTokenStore>;
