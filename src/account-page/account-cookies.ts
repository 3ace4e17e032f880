import type { Context } from 'koa';
import { openJson, sealJson } from '../crypto/seal-json.ts';

/**
 * The account page's own short session: who signed in (through /auth, as the built-in client),
 * in which Gatehouse session (its uid: the page ends with that session) and when (auth_time, for
 * "recent sign-in"). Idle for 30 minutes it ends, and after 12 hours in any case; the next visit
 * signs in through /auth again, silently while the Gatehouse session lasts (auth_time stays that
 * sign-in's). Sealed (AES-256-GCM) so the browser can neither read nor forge it; HttpOnly, on
 * /account only. SameSite=Lax, not Strict: after an upstream sign-in the way back to /account is
 * a redirect chain that began on another site, which would never carry a Strict cookie.
 */
export type AccountPageSession = { accountId: string; sessionUid: string; authTime: number; issuedAt: number; expiresAt: number };

/** Between /account/sign-in and /account/callback: the state and PKCE verifier of that sign-in, and where to go back to. */
export type AccountSignInTransaction = { state: string; verifier: string; section?: string; isReauth: boolean; expiresAt: number };

const SESSION = 'gatehouse.account';
const TRANSACTION = 'gatehouse.account_sign_in';
export const IDLE_SECONDS = 30 * 60;
export const ABSOLUTE_SECONDS = 12 * 3600;
const TRANSACTION_SECONDS = 600; // the sign-in pages' interaction lives as long
const SESSION_AAD = 'account-page:session';
const TRANSACTION_AAD = 'account-page:sign-in';

export function createAccountCookies(sealingKey: Buffer, now: () => Date) {
  const options = (ctx: Context, path: string) => ({ path, httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, signed: false, overwrite: true });
  const open = <T extends { expiresAt: number }>(ctx: Context, name: string, aad: string): T | undefined => {
    const raw = ctx.cookies.get(name, { signed: false });
    if (!raw) return undefined;
    try {
      const value = openJson<T>(raw, sealingKey, aad);
      return value.expiresAt > now().getTime() / 1000 ? value : undefined;
    } catch {
      return undefined; // tampered with, or sealed for something else
    }
  };
  const seconds = () => Math.floor(now().getTime() / 1000);

  return {
    /** A new page session for a sign-in that just completed. */
    startSession(ctx: Context, s: { accountId: string; sessionUid: string; authTime: number }): AccountPageSession {
      const issuedAt = seconds();
      const session = { ...s, issuedAt, expiresAt: Math.min(issuedAt + IDLE_SECONDS, issuedAt + ABSOLUTE_SECONDS) };
      this.keepSession(ctx, session);
      return session;
    },
    /** Writes the session with its idle time renewed (never past the absolute end). */
    keepSession(ctx: Context, s: AccountPageSession): void {
      const renewed = { ...s, expiresAt: Math.min(seconds() + IDLE_SECONDS, s.issuedAt + ABSOLUTE_SECONDS) };
      ctx.cookies.set(SESSION, sealJson(renewed, sealingKey, SESSION_AAD), { ...options(ctx, '/account'), maxAge: (renewed.expiresAt - seconds()) * 1000 });
    },
    session: (ctx: Context) => open<AccountPageSession>(ctx, SESSION, SESSION_AAD),
    endSession: (ctx: Context) => ctx.cookies.set(SESSION, null, options(ctx, '/account')),

    setTransaction(ctx: Context, t: Omit<AccountSignInTransaction, 'expiresAt'>): void {
      const value = { ...t, expiresAt: seconds() + TRANSACTION_SECONDS };
      ctx.cookies.set(TRANSACTION, sealJson(value, sealingKey, TRANSACTION_AAD), { ...options(ctx, '/account/callback'), maxAge: TRANSACTION_SECONDS * 1000 });
    },
    /** The transaction, once only (the cookie is cleared). */
    takeTransaction(ctx: Context): AccountSignInTransaction | undefined {
      const t = open<AccountSignInTransaction>(ctx, TRANSACTION, TRANSACTION_AAD);
      ctx.cookies.set(TRANSACTION, null, options(ctx, '/account/callback'));
      return t;
    },
  };
}

export type AccountCookies = ReturnType<typeof createAccountCookies>;
