import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/** How a refresh token is known at rest here: its SHA-256 (a 256-bit random value cannot be guessed from it). */
export const refreshTokenDigest = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A spent refresh token's rotation: its tombstone, and the sealed answer while its window lasts. */
export type RotationRecord = {
  tokenDigest: string;
  successorDigest: string;
  grantId: string;
  clientId: string;
  accountId: string;
  scope: string | undefined;
  jkt: string | undefined;
  issuedAt: Date;
  rotatedAt: Date;
  expiresAt: Date;
  /** The sealed token response, while the grace window is open (by the database's clock). */
  liveAnswer: string | undefined;
  /** The successor has itself been redeemed: whoever presents this token now never saw that. */
  isSuccessorRedeemed: boolean;
};

export type NewRotation = Omit<RotationRecord, 'rotatedAt' | 'liveAnswer' | 'isSuccessorRedeemed'> & { answer: string | undefined; answerSeconds: number };

type Row = {
  token_digest: string;
  successor_digest: string;
  grant_id: string;
  client_id: string;
  account_id: string;
  scope: string | null;
  jkt: string | null;
  issued_at: Date;
  rotated_at: Date;
  expires_at: Date;
  live_answer: string | null;
  is_successor_redeemed: boolean;
};

export type RefreshRotationRepository = ReturnType<typeof createRefreshRotationRepository>;

export function createRefreshRotationRepository(knex: Knex) {
  return {
    async find(tokenDigest: string): Promise<RotationRecord | undefined> {
      const { rows } = await knex.raw<{ rows: Row[] }>(
        `select r.token_digest, r.successor_digest, r.grant_id, r.client_id, r.account_id, r.scope, r.jkt, r.issued_at, r.rotated_at, r.expires_at,
           case when r.answer_expires_at > now() then r.answer end as live_answer,
           exists (select 1 from refresh_token_rotations s where s.token_digest = r.successor_digest) as is_successor_redeemed
         from refresh_token_rotations r
         where r.token_digest = ? and r.expires_at > now()`,
        [tokenDigest],
      );
      const row = rows[0];
      if (!row) return undefined;
      return {
        tokenDigest: row.token_digest,
        successorDigest: row.successor_digest,
        grantId: row.grant_id,
        clientId: row.client_id,
        accountId: row.account_id,
        scope: row.scope ?? undefined,
        jkt: row.jkt ?? undefined,
        issuedAt: new Date(row.issued_at),
        rotatedAt: new Date(row.rotated_at),
        expiresAt: new Date(row.expires_at),
        liveAnswer: row.live_answer ?? undefined,
        isSuccessorRedeemed: row.is_successor_redeemed,
      };
    },

    /** Inside the rotation's own transaction (`db`): the record exists exactly when the rotation does. */
    async insert(rotation: NewRotation, db: Knex = knex): Promise<void> {
      await db('refresh_token_rotations').insert({
        token_digest: rotation.tokenDigest,
        successor_digest: rotation.successorDigest,
        grant_id: rotation.grantId,
        client_id: rotation.clientId,
        account_id: rotation.accountId,
        scope: rotation.scope ?? null,
        jkt: rotation.jkt ?? null,
        issued_at: rotation.issuedAt,
        expires_at: rotation.expiresAt,
        answer: rotation.answer ?? null,
        // The database's clock, as `find` reads it: instances with skewed clocks agree on the window.
        answer_expires_at: db.raw('now() + make_interval(secs => ?)', [rotation.answerSeconds]),
      });
    },

    async deleteByGrant(grantId: string): Promise<void> {
      await knex('refresh_token_rotations').where({ grant_id: grantId }).delete();
    },
  };
}
