import { AppError } from '../errors/app-error.ts';
import { isAcceptableRedirectUri, REDIRECT_URI_RULE } from '../validation/redirect-uri.ts';

/**
 * Where RP-initiated logout may send the user back (OpenID Connect RP-Initiated Logout 1.0 §3.1),
 * matched exactly like redirect URIs, and held to the same rules (validation/redirect-uri.ts).
 */
export function checkPostLogoutRedirectUris(uris: readonly string[] | undefined): string[] {
  const unique = [...new Set(uris ?? [])];
  const unsafe = unique.find((uri) => !isAcceptableRedirectUri(uri));
  if (unsafe !== undefined) {
    throw new AppError('invalid_client', `post-logout redirect URI ${JSON.stringify(unsafe.slice(0, 200))} must be an ${REDIRECT_URI_RULE}`);
  }
  return unique;
}
