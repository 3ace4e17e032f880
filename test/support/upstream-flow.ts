import * as oauth from 'openid-client';
import { expect } from 'vitest';
import { startCodeFlow } from './code-flow.ts';
import type { TestGatehouse } from './test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './user-agent.ts';

export const RP_REDIRECT = 'http://127.0.0.1:9/rp-callback';

/** A first-party application at Gatehouse (no consent page), for upstream sign-in tests. */
export async function registerRelyingParty(gh: TestGatehouse): Promise<oauth.Configuration> {
  const { client, clientSecret } = await gh.services.clients.registerClient({
    name: 'Relying Party',
    redirectUris: [RP_REDIRECT],
    scope: 'openid email profile',
    isFirstParty: true,
  });
  return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), { execute: [oauth.allowInsecureRequests] });
}

/** The steps of an upstream sign-in as a browser makes them, from the application and back. */
export function upstreamFlow(gh: TestGatehouse, rp: oauth.Configuration, upstreamOrigin: string) {
  const flow = {
    /** From the application to Gatehouse's login page, then its button for this upstream. */
    async begin(upstreamId: string, ua: UserAgent = createUserAgent()) {
      const { url: auth, verifier } = await startCodeFlow(rp, { redirect_uri: RP_REDIRECT, scope: 'openid email profile', state: 'rp-state' });
      const { res, url } = await ua.follow(await ua.get(auth.href), auth.href);
      const page = await res.text();
      expect(res.status, page).toBe(200);
      expect(page).toContain(`action="${url.pathname}/upstream/${upstreamId}"`);
      const started = await ua.postForm(`${url.origin}${url.pathname}/upstream/${upstreamId}`, {});
      expect(started.status).toBe(303);
      return { ua, verifier, loginPage: url, upstreamAuthorization: new URL(started.headers.get('location')!) };
    },

    /** Through the upstream back to Gatehouse's callback URL (not yet visited). */
    async atUpstream(ua: UserAgent, authorization: URL): Promise<URL> {
      expect(authorization.origin).toBe(upstreamOrigin);
      const { url } = await ua.follow(await ua.get(authorization.href), authorization.href, (u) => u.href.startsWith(`${gh.issuer}/upstream/`));
      return url;
    },

    /** Gatehouse's callback onwards, to the application, whose code is redeemed for tokens. */
    async complete(ua: UserAgent, callback: URL, verifier: string) {
      const { url } = await ua.follow(await ua.get(callback.href), callback.href, (u) => u.href.startsWith(RP_REDIRECT));
      expect(url.href.startsWith(RP_REDIRECT), url.href).toBe(true);
      const tokens = await oauth.authorizationCodeGrant(rp, url, { pkceCodeVerifier: verifier, expectedState: 'rp-state' });
      return tokens.claims()!;
    },

    /** As complete, and what the application then reads at userinfo (email, email_verified). */
    async completeWithUserInfo(ua: UserAgent, callback: URL, verifier: string) {
      const { url } = await ua.follow(await ua.get(callback.href), callback.href, (u) => u.href.startsWith(RP_REDIRECT));
      expect(url.href.startsWith(RP_REDIRECT), url.href).toBe(true);
      const tokens = await oauth.authorizationCodeGrant(rp, url, { pkceCodeVerifier: verifier, expectedState: 'rp-state' });
      const sub = tokens.claims()!.sub;
      return { sub, userInfo: await oauth.fetchUserInfo(rp, tokens.access_token, sub) };
    },

    async signIn(upstreamId: string) {
      const { ua, verifier, upstreamAuthorization } = await flow.begin(upstreamId);
      return flow.complete(ua, await flow.atUpstream(ua, upstreamAuthorization), verifier);
    },
  };
  return flow;
}
