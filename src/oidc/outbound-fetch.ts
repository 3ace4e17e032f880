import type { Configuration } from 'oidc-provider';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const isLoopback = (url: URL) => LOOPBACK_HOSTS.has(url.hostname);

/**
 * How oidc-provider fetches client resources (a private_key_jwt client's jwks_uri). Its own
 * dispatcher refuses private, loopback and other special-use addresses (SSRF); that stays for
 * every deployment. Only a server whose own issuer is on loopback (development, tests) may reach
 * a loopback jwks_uri: there the app and Gatehouse share the machine.
 */
export function outboundFetch(issuer: string): NonNullable<Configuration['fetch']> {
  const mayReachLoopback = isLoopback(new URL(issuer));
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (mayReachLoopback && isLoopback(url)) {
      const { dispatcher: _ssrfGuard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return fetch(url, rest);
    }
    return fetch(input, init);
  };
}
