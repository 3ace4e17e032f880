import { hkdfSync } from 'node:crypto';
import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import { type Adapter, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { openJson, sealJson } from '../crypto/seal-json.ts';
import { sendOAuthError } from '../http/oauth-error.ts';
import { protocolFormOf, single } from './protocol-form.ts';
import { type RefreshRotationRepository, refreshTokenDigest } from './refresh-rotation-repository.ts';
import { type RotationUnit, rotationUnits } from './rotation-unit.ts';

type Saved = { clientId: string; body: Record<string, unknown> };
type TokenBody = Record<string, unknown> & { refresh_token?: string };

// A rotation's commit waits on a concurrent commit of the same token (the row lock of its consume);
// that takes milliseconds, and a holder that hangs must not hang its duplicates for longer.
const LOCK_TIMEOUT_SECONDS = 5;

/** The saved answer is sealed under the presented token itself: useless to anyone who lacks it. */
const sealKeyOf = (refreshToken: string) => Buffer.from(hkdfSync('sha256', refreshToken, 'gatehouse', 'gatehouse:refresh-grace', 32));

/**
 * A grace window for refresh-token rotation. oidc-provider treats any second use of a rotated
 * refresh token as theft and revokes the grant (notes §9), so a client that merely retried a
 * refresh (a lost response, a crash, two tabs) would lose its session. Here a retry inside the
 * client's window, by the client oidc-provider authenticated, gets the very response the rotation
 * returned. Everything a retry relies on is durable before the response leaves: the spent token's
 * consume, its successor and the sealed answer are written in one Postgres transaction after the
 * library has built the response (the RefreshToken adapter holds the library's own writes back,
 * refresh-token-adapter.ts). So a fault anywhere leaves either no rotation (the token is still
 * live; the retry rotates it) or a complete one (the retry gets its answer) — never a consumed
 * token without an answer, and nothing to wait for after a crash. Of concurrent redemptions, the
 * consume's row lock lets one commit; the others answer with its response.
 *
 * Outside the window, for an ancestor of a token that was itself redeemed, or for another client,
 * oidc-provider's rules apply: a spent token presented again revokes the grant (RFC 9700 §4.14.2).
 */
export function refreshGrace(options: {
  knex: Knex;
  /** The RefreshToken model's storage on a given connection: the rotation's transaction. */
  refreshTokensOn: (db: Knex) => Adapter;
  rotations: RefreshRotationRepository;
  graceSecondsFor: (ctx: KoaContextWithOIDC) => number;
  tokenPath: string;
}): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== options.tokenPath) return next();
    const form = protocolFormOf(ctx);
    const refreshToken = form && single(form, 'grant_type') === 'refresh_token' ? single(form, 'refresh_token') : undefined;
    if (!form || !refreshToken || refreshToken.length > 1024) return next();

    const unit: RotationUnit = { presented: refreshToken, digest: refreshTokenDigest(refreshToken) };
    await rotationUnits.run(unit, next);
    const oidc = (ctx as unknown as KoaContextWithOIDC).oidc;
    const clientId = oidc?.client?.clientId;

    const answerWith = (sealed: string | undefined): boolean => {
      if (!sealed || !clientId) return false;
      const saved = openJson<Saved>(sealed, sealKeyOf(refreshToken), unit.digest);
      // The client oidc-provider authenticated, however it sent its credentials.
      if (saved.clientId !== clientId) return false;
      ctx.status = 200;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = saved.body;
      return true;
    };

    if (unit.isReplayApproved) {
      answerWith(unit.replay?.liveAnswer);
      return;
    }
    const body = ctx.body as TokenBody | undefined;
    const { found, successor } = unit;
    // Nothing was rotated, or the library failed after its (held back) consume: nothing was written.
    if (!unit.isConsumeDeferred || !found || !successor || ctx.status !== 200 || !clientId || body?.refresh_token !== successor.id) return;

    const grace = options.graceSecondsFor(ctx as unknown as KoaContextWithOIDC);
    try {
      await options.knex.transaction(async (trx) => {
        await trx.raw(`set local lock_timeout = '${LOCK_TIMEOUT_SECONDS}s'`);
        const tokens = options.refreshTokensOn(trx);
        await tokens.consume(refreshToken); // atomic: of concurrent redemptions one passes (notes §5)
        // From here on the tombstone below answers for the spent token: retries and reuse detection.
        await tokens.destroy(refreshToken);
        await tokens.upsert(successor.id, successor.payload, successor.expiresIn);
        await options.rotations.insert(
          {
            tokenDigest: unit.digest,
            successorDigest: refreshTokenDigest(successor.id),
            grantId: String(found.grantId),
            clientId,
            accountId: String(found.accountId),
            scope: found.scope,
            jkt: found.jkt as string | undefined,
            issuedAt: new Date(Number(found.iat) * 1000),
            expiresAt: new Date(Number(found.exp) * 1000),
            answer: grace > 0 ? sealJson({ clientId, body: body! } satisfies Saved, sealKeyOf(refreshToken), unit.digest) : undefined,
            answerSeconds: grace,
          },
          trx,
        );
      });
    } catch (err) {
      // Never send tokens whose rotation did not commit.
      ctx.body = undefined;
      if (!(err instanceof errors.InvalidGrant)) throw err;
      // Another redemption of this token committed first: its answer, if the window allows.
      if (answerWith((await options.rotations.find(unit.digest))?.liveAnswer)) return;
      sendOAuthError(ctx, err.statusCode, err.message, err.error_description ?? err.message);
    }
  };
}
