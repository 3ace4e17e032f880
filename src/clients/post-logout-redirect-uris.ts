import { isSecureUrl } from '../config/load-config.ts';
import { AppError } from '../errors/app-error.ts';

/**
 * Where RP-initiated logout may send the user back (OpenID Connect RP-Initiated Logout 1.0 §3.1),
 * matched exactly like redirect URIs. The same rules as redirect URIs (RFC 9700 §2.6, RFC 6749
 * §3.1.2): https, or plain http only to this machine (a loopback host); no fragment. Kept apart
 * from the redirect-URI check so each can change alone.
 */
export function checkPostLogoutRedirectUris(uris: readonly string[] | undefined): string[] {
  const unique = [...new Set(uris ?? [])];
  const unsafe = unique.find((uri) => uri.includes('#') || !isSecureUrl(uri));
  if (unsafe !== undefined) {
    throw new AppError(
      'invalid_client',
      `post-logout redirect URI ${JSON.stringify(unsafe.slice(0, 200))} must be an https:// URL without a fragment (http:// only on a loopback host)`,
    );
  }
  return unique;
}
