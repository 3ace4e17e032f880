import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import type { UpstreamSettings } from '../config/upstream-settings.ts';
import type { UpstreamProfile } from './upstream-accounts.ts';

/** What the browser carries (sealed) from the redirect to the upstream until its callback. */
export type UpstreamTransaction = { upstreamId: string; uid: string; state: string; nonce?: string; codeVerifier: string };

const TIMEOUT_SECONDS = 10;
const DISCOVERY_CACHE_MS = 60 * 60_000; // re-read an issuer's metadata hourly (new endpoints, keys)

// RFC 6749 §2.3.1: servers must accept Basic; use POST only where the upstream lists it alone (Kakao).
const clientAuth =
  (secret: string): oidc.ClientAuth =>
  (as, client, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported;
    const useBasic = !methods || methods.includes('client_secret_basic');
    return (useBasic ? oidc.ClientSecretBasic(secret) : oidc.ClientSecretPost(secret))(as, client, body, headers);
  };

/**
 * Talks to upstream identity providers as an OAuth client, with openid-client: the authorization
 * request (state, PKCE S256, and a nonce for OpenID Connect) and the callback (code exchange, ID
 * token checks: signature against the upstream's JWKS, issuer, audience, nonce, expiry).
 */
export function createUpstreamClient(options: { redirectUriFor: (upstreamId: string) => string }) {
  const cache = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();

  const build = async (u: UpstreamSettings): Promise<oidc.Configuration> => {
    const insecure = (u.issuer ?? u.authorizationUrl ?? '').startsWith('http:'); // loopback only (config checks)
    if (u.kind === 'oidc') {
      const config = await oidc.discovery(new URL(u.issuer!), u.clientId, undefined, clientAuth(u.clientSecret), {
        timeout: TIMEOUT_SECONDS,
        execute: insecure ? [oidc.allowInsecureRequests] : [],
      });
      // Without this openid-client trusts the TLS channel for the ID token (OIDC Core §3.1.3.7);
      // we check its signature against the upstream's JWKS as well.
      oidc.enableNonRepudiationChecks(config);
      return config;
    }
    // Naver: OAuth 2.0 only, fixed endpoints, client credentials in the form.
    const config = new oidc.Configuration(
      { issuer: new URL(u.authorizationUrl!).origin, authorization_endpoint: u.authorizationUrl, token_endpoint: u.tokenUrl },
      u.clientId,
      undefined,
      oidc.ClientSecretPost(u.clientSecret),
    );
    config.timeout = TIMEOUT_SECONDS;
    if (insecure) oidc.allowInsecureRequests(config);
    return config;
  };

  const configuration = (u: UpstreamSettings): Promise<oidc.Configuration> => {
    const key = createHash('sha256').update(JSON.stringify(u)).digest('base64url');
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_CACHE_MS) return hit.config;
    const config = build(u);
    cache.set(key, { at: Date.now(), config });
    config.catch(() => cache.delete(key)); // an unreachable upstream is asked again next time
    return config;
  };

  return {
    /** The upstream's authorization URL, and the transaction to keep until its callback. */
    async start(u: UpstreamSettings, uid: string): Promise<{ url: URL; transaction: UpstreamTransaction }> {
      const config = await configuration(u);
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const transaction: UpstreamTransaction = {
        upstreamId: u.id,
        uid,
        state: oidc.randomState(),
        codeVerifier,
        ...(u.kind === 'oidc' ? { nonce: oidc.randomNonce() } : {}),
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUriFor(u.id),
        response_type: 'code',
        ...(u.scope ? { scope: u.scope } : {}),
        state: transaction.state,
        ...(transaction.nonce ? { nonce: transaction.nonce } : {}),
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, transaction };
    },

    /** Redeems the callback's code and says who signed in; throws on any failed check. */
    async finish(u: UpstreamSettings, query: URLSearchParams, t: UpstreamTransaction): Promise<UpstreamProfile> {
      const config = await configuration(u);
      const callbackUrl = new URL(options.redirectUriFor(u.id));
      callbackUrl.search = query.toString();
      if (u.kind === 'oidc') {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: t.codeVerifier,
          expectedState: t.state,
          expectedNonce: t.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims()!;
        return {
          subject: claims.sub,
          email: typeof claims.email === 'string' ? claims.email : undefined,
          isEmailVerified: claims.email_verified === true,
          name: typeof claims.name === 'string' ? claims.name : typeof claims.nickname === 'string' ? claims.nickname : undefined,
        };
      }
      // Naver wants the state again at its token endpoint.
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: t.codeVerifier, expectedState: t.state }, { state: t.state });
      const res = await oidc.fetchProtectedResource(config, tokens.access_token, new URL(u.profileUrl!), 'GET');
      const body = (await res.json()) as { resultcode?: string; response?: { id?: unknown; email?: unknown; name?: unknown; nickname?: unknown } };
      const p = body.response;
      if (!res.ok || body.resultcode !== '00' || typeof p?.id !== 'string' || !p.id) {
        throw new UpstreamProfileError(`profile API answered ${res.status} resultcode ${String(body.resultcode)}`);
      }
      return {
        subject: p.id,
        email: typeof p.email === 'string' ? p.email : undefined,
        isEmailVerified: false, // Naver says nothing about verification: never link on its word
        name: typeof p.name === 'string' ? p.name : typeof p.nickname === 'string' ? p.nickname : undefined,
      };
    },
  };
}

export class UpstreamProfileError extends Error {}

export type UpstreamClient = ReturnType<typeof createUpstreamClient>;
