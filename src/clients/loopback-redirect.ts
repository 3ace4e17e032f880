// A loopback IP literal, its optional port, then the rest (RFC 8252 §7.3). "localhost" is not one:
// it may resolve to something else (§8.3), so it keeps exact matching.
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?].*)?$/;

/** The URI without its port, for a loopback IP literal with a valid port; otherwise undefined. */
function withoutLoopbackPort(uri: string): string | undefined {
  const match = LOOPBACK.exec(uri);
  if (!match || (match[2] !== undefined && Number(match[2]) > 65_535)) return undefined;
  return `http://${match[1]}${match[3] ?? ''}`;
}

export type RedirectingClient = { applicationType?: string; clientAuthMethod?: string };

/**
 * Whether `presented` may receive the response. Exact string match (RFC 9700 §4.1.3), except
 * that a public native app's loopback IP redirect URI matches with any port (RFC 8252 §7.3: the
 * port is chosen by the OS when the app starts listening). Only public native clients get that:
 * anything on the user's machine may listen on a loopback port, so no client holding a secret
 * or keys may rely on it, and a web client has no reason to.
 */
export function isRedirectUriAllowed(presented: string, registered: readonly string[], client: RedirectingClient): boolean {
  if (registered.includes(presented)) return true;
  if (client.applicationType !== 'native' || client.clientAuthMethod !== 'none') return false;
  const bare = withoutLoopbackPort(presented);
  return bare !== undefined && registered.some((uri) => withoutLoopbackPort(uri) === bare);
}
