import type { Context } from 'koa';
import { openJson, sealJson } from '../crypto/seal-json.ts';
import type { UpstreamTransaction } from '../upstreams/upstream-client.ts';

// Two short-lived cookies, sealed (AES-256-GCM) so the browser can neither read nor forge them:
// the transaction (state, nonce, PKCE verifier) from the redirect to the upstream until its
// callback, on the callback's path; then the outcome (who signed in) from the callback to the
// interaction, on the interaction's path, where oidc-provider's own cookie is sent too (notes §12).
const TRANSACTION = 'gatehouse.upstream';
const OUTCOME = 'gatehouse.upstream_done';
const TRANSACTION_SECONDS = 600; // time to sign in at the upstream
const OUTCOME_SECONDS = 60; // one redirect

type Sealed<T> = T & { exp: number };
/** Who signed in; isNewAccount: the callback made the account (it may need a verification link). */
type UpstreamOutcomeCookie = { upstreamId: string; accountId: string; isNewAccount?: boolean };

const callbackPath = (upstreamId: string) => `/upstream/${upstreamId}/callback`;
const interactionPath = (uid: string) => `/interaction/${uid}`;

export function createUpstreamCookies(sealingKey: Buffer) {
  const set = (ctx: Context, name: string, path: string, value: unknown, seconds: number, aad: string) =>
    ctx.cookies.set(name, sealJson({ ...(value as object), exp: Date.now() / 1000 + seconds }, sealingKey, aad), {
      path,
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      maxAge: seconds * 1000,
      signed: false,
      overwrite: true,
    });
  const take = <T>(ctx: Context, name: string, path: string, aad: string): T | undefined => {
    const raw = ctx.cookies.get(name, { signed: false });
    if (!raw) return undefined;
    ctx.cookies.set(name, null, { path, httpOnly: true, sameSite: 'lax', secure: ctx.secure, signed: false, overwrite: true }); // once only
    try {
      const value = openJson<Sealed<T>>(raw, sealingKey, aad);
      return value.exp > Date.now() / 1000 ? value : undefined;
    } catch {
      return undefined; // tampered, or sealed for another upstream or interaction
    }
  };

  return {
    setTransaction: (ctx: Context, t: UpstreamTransaction) =>
      set(ctx, TRANSACTION, callbackPath(t.upstreamId), t, TRANSACTION_SECONDS, `upstream-transaction:${t.upstreamId}`),
    takeTransaction: (ctx: Context, upstreamId: string) =>
      take<UpstreamTransaction>(ctx, TRANSACTION, callbackPath(upstreamId), `upstream-transaction:${upstreamId}`),
    setOutcome: (ctx: Context, uid: string, outcome: UpstreamOutcomeCookie) =>
      set(ctx, OUTCOME, interactionPath(uid), outcome, OUTCOME_SECONDS, `upstream-outcome:${uid}`),
    takeOutcome: (ctx: Context, uid: string) => take<UpstreamOutcomeCookie>(ctx, OUTCOME, interactionPath(uid), `upstream-outcome:${uid}`),
  };
}

export type UpstreamCookies = ReturnType<typeof createUpstreamCookies>;
