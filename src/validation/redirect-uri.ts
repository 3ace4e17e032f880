import { isSecureUrl } from './secure-url.ts';

/**
 * A redirect URI we register (RFC 9700 §2.1 and §4.1, RFC 6749 §3.1.2): https, or plain http only
 * to this machine (loopback, RFC 8252 §7.3); no fragment; no `user:password@` (a credential in a
 * URL ends up in logs and histories); no `*` in the host. Matching is exact, so a wildcard would
 * never match anything but itself, and registering one only suggests that it does.
 */
export function isAcceptableRedirectUri(uri: string): boolean {
  if (uri.includes('#') || !isSecureUrl(uri)) return false;
  const url = new URL(uri);
  return !url.username && !url.password && !url.hostname.includes('*');
}

export const REDIRECT_URI_RULE = 'https:// URL without a fragment, credentials or wildcard (http:// only on a loopback host)';
