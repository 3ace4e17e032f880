import type { Configuration, Provider } from 'oidc-provider';
import { isSecureUrl } from '../validation/secure-url.ts';

/**
 * How oidc-provider's cookies are set, decided once from the issuer.
 *
 * OIDC Core §3.1.2.1 wants POST at /auth (and RP-Initiated Logout §2 at /session/end). A form an
 * application posts from its own site is a cross-site request, which carries no SameSite=Lax
 * cookie: the signed-in user would look signed out. So the session cookie (`cookies.long`) is
 * SameSite=None (oidc-provider refuses POST otherwise), and browsers keep a SameSite=None cookie
 * only when it is also Secure. The interaction cookies (`cookies.short`) stay Lax: they are set
 * and read on top-level navigations, which carry Lax cookies, and they keep other sites' form
 * posts out of the interaction (as do its CSRF tokens, form-tokens.ts).
 *
 * Secure needs a secure context: an https issuer, or plain http on a loopback host, which
 * browsers treat as secure (Chromium and Firefox keep and send Secure cookies for
 * http://localhost and http://127.0.0.1). On any other plain-http issuer no browser would keep
 * the session cookie, so POST stays off there and the cookies stay as they were (Lax, and Secure
 * only when the request was https).
 */
export function sessionCookiePolicy(issuer: string) {
  const isSecureContext = isSecureUrl(issuer);
  return {
    isSecureContext,
    enableHttpPostMethods: isSecureContext,
    long: { httpOnly: true, sameSite: isSecureContext ? 'none' : 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  } satisfies NonNullable<Configuration['cookies']> & { isSecureContext: boolean; enableHttpPostMethods: boolean };
}

/**
 * Marks every cookie oidc-provider sets Secure, on a secure-context issuer. The library sets
 * Secure only when the request itself was https (ctx.secure), which a loopback development
 * server never is, and Koa's cookie jar refuses `secure: true` over plain http. oidc-provider
 * takes its jar from the app's contexts (`provider.createContext(req, res).cookies`), so this
 * app's context tells each jar, when it is first used, that the context is secure. Lazy: the
 * token endpoint never touches cookies and pays nothing. Cookies we set ourselves pass `secure`
 * explicitly and are not affected.
 */
export function markCookiesSecure(provider: Provider): void {
  let proto: object | null = provider.context;
  let jar: PropertyDescriptor | undefined;
  while (proto && !(jar = Object.getOwnPropertyDescriptor(proto, 'cookies'))) proto = Object.getPrototypeOf(proto);
  if (!jar?.get) throw new Error("Koa's context has no cookies getter");
  const { get, set } = jar;
  Object.defineProperty(provider.context, 'cookies', {
    configurable: true,
    get(this: unknown) {
      const cookies = get.call(this) as { secure?: boolean };
      cookies.secure = true;
      return cookies;
    },
    set(this: unknown, value: unknown) {
      set?.call(this, value);
    },
  });
}
