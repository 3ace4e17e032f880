import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID } from '../clients/built-in-clients.ts';
import type { Locale } from '../i18n/locales.ts';
import type { AccountCookies } from './account-cookies.ts';

/** The parts of the page a sign-in may return to (the fragment of /account). */
export const SECTIONS = ['profile', 'email', 'password', 'identities', 'sessions', 'apps', 'delete'] as const;
export type Section = (typeof SECTIONS)[number];
export const isSection = (value: unknown): value is Section => (SECTIONS as readonly unknown[]).includes(value);

/** Who signed in, as the code says: the account, its Gatehouse session and when (auth_time). */
export type SignedIn = { accountId: string; sessionUid: string; authTime: number };

const random = () => randomBytes(32).toString('base64url');
const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * How the account page signs someone in: as an application of Gatehouse's own (built-in-clients.ts),
 * through /auth with state and PKCE (S256), so the sign-in is exactly the one every application
 * gets — its pages, throttles, EMAIL_VERIFICATION, disabled accounts, upstream sign-in. A
 * "confirm it's you" re-authentication adds prompt=login (OIDC Core §3.1.2.1): the sign-in page
 * is shown whatever the session, and the code's auth_time is the new sign-in's.
 *
 * The code comes back to this same server, so it is redeemed here rather than over HTTP at
 * /token (an instance often cannot reach its own public URL): found through the engine's model
 * (unexpired), for this client and redirect URI, its PKCE challenge matched in constant time,
 * then consumed atomically (the adapters' consume: a second use fails). No token is issued: the
 * page needs only who signed in and when, which the code carries.
 */
export function createAccountSignIn(deps: { issuer: string; cookies: AccountCookies }) {
  const redirectUri = `${deps.issuer}${ACCOUNT_CALLBACK_PATH}`;

  return {
    /** Off to /auth (303); the transaction waits in a sealed cookie on the callback's path. */
    start(ctx: Context, options: { locale: Locale; section?: Section; isReauth?: boolean }): void {
      const state = random();
      const verifier = random();
      deps.cookies.setTransaction(ctx, { state, verifier, section: options.section, isReauth: options.isReauth === true });
      const params = new URLSearchParams({
        client_id: ACCOUNT_CLIENT_ID,
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid',
        state,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        ui_locales: options.locale,
        ...(options.isReauth ? { prompt: 'login' } : {}),
      });
      ctx.status = 303;
      ctx.redirect(`${deps.issuer}/auth?${params}`);
    },

    /**
     * GET /account/callback: the transaction (this browser's, once), then the code. An error the
     * sign-in ended with (the user cancelled: access_denied) is a value, as is a bad callback.
     */
    async finish(
      ctx: Context,
      provider: Provider,
    ): Promise<{ kind: 'signed_in'; signedIn: SignedIn; section?: Section; isReauth: boolean } | { kind: 'cancelled' } | { kind: 'invalid' }> {
      const t = deps.cookies.takeTransaction(ctx);
      const query = new URLSearchParams(ctx.querystring);
      // No transaction, or another: a forged or replayed callback, or a second tab's (RFC 9700 §4.7).
      if (!t || !sameText(query.get('state') ?? '', t.state)) return { kind: 'invalid' };
      if (query.get('error')) return { kind: 'cancelled' };
      const signedIn = await redeem(provider, query.get('code') ?? '', t.verifier, redirectUri);
      if (!signedIn) return { kind: 'invalid' };
      return { kind: 'signed_in', signedIn, section: isSection(t.section) ? t.section : undefined, isReauth: t.isReauth };
    },
  };
}

async function redeem(provider: Provider, value: string, verifier: string, redirectUri: string): Promise<SignedIn | undefined> {
  if (!/^[\w-]{20,200}$/.test(value)) return undefined;
  const code = await provider.AuthorizationCode.find(value); // undefined once expired
  if (!code || (code as { consumed?: unknown }).consumed || code.clientId !== ACCOUNT_CLIENT_ID || code.redirectUri !== redirectUri) return undefined;
  // RFC 7636 §4.6, S256 only (the engine accepts nothing else at /auth).
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  if (code.codeChallengeMethod !== 'S256' || !code.codeChallenge || !sameText(challenge, code.codeChallenge)) return undefined;
  try {
    await code.consume();
  } catch {
    return undefined; // used meanwhile: only one use ever succeeds
  }
  if (!code.accountId || !code.sessionUid || typeof code.authTime !== 'number') return undefined;
  return { accountId: code.accountId, sessionUid: code.sessionUid, authTime: code.authTime };
}
