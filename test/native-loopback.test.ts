import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const user = { email: 'margaret@example.test', password: 'native app passphrase' };
const options = { execute: [oauth.allowInsecureRequests] };

// RFC 8252 §7.3: a native app listens on whatever loopback port the OS gives it, so a registered
// loopback IP redirect URI matches with any port, for public native clients only (§8.4: anyone
// could run a listener on the user's machine, so nothing confidential may rely on it).
describe('native apps: loopback redirect URIs with any port', () => {
  const gh = useTestGatehouse();
  let nativePublic: oauth.Configuration;
  let nativeConfidential: oauth.Configuration;
  let webPublic: oauth.Configuration;

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    const register = async (name: string, extra: Record<string, unknown>) => {
      const { client, clientSecret } = await gh.services.clients.registerClient({
        name,
        redirectUris: ['http://127.0.0.1/cb', 'http://[::1]/cb', 'http://localhost/cb'],
        scope: 'openid',
        ...extra,
      });
      const auth = clientSecret ? oauth.ClientSecretBasic(clientSecret) : oauth.None();
      return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, auth, options);
    };
    nativePublic = await register('Desktop app', { applicationType: 'native', tokenEndpointAuthMethod: 'none' });
    nativeConfidential = await register('Desktop app with a secret', { applicationType: 'native' });
    webPublic = await register('SPA on loopback', { tokenEndpointAuthMethod: 'none' });
  });

  const authorize = (config: oauth.Configuration, redirectUri: string) => startCodeFlow(config, { redirect_uri: redirectUri, scope: 'openid' });

  /** The page /auth answers with for a redirect_uri it refuses: an error page, never a redirect. */
  async function refused(config: oauth.Configuration, redirectUri: string) {
    const { url } = await authorize(config, redirectUri);
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.headers.get('location')).toBeNull();
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('redirect_uri');
  }

  it.each(['http://127.0.0.1:49152/cb', 'http://[::1]:61000/cb', 'http://127.0.0.1/cb'])(
    'sends the code of a public native client to %s, and exchanges it there',
    async (redirectUri) => {
      const { url, redeem } = await authorize(nativePublic, redirectUri);
      const callback = await signIn(createUserAgent(), url, user, redirectUri);
      expect(callback.origin + callback.pathname).toBe(redirectUri);
      const tokens = await redeem(callback);
      expect(tokens.claims()?.sub).toBeTruthy();
    },
  );

  it('still matches the path and the query exactly, and never another host', async () => {
    await refused(nativePublic, 'http://127.0.0.1:49152/other');
    await refused(nativePublic, 'http://127.0.0.1:49152/cb?x=1');
    await refused(nativePublic, 'http://127.0.0.2:49152/cb');
    await refused(nativePublic, 'http://user@127.0.0.1:49152/cb');
    // §8.3: "localhost" may resolve elsewhere; it gets no port leeway (only its exact URI).
    await refused(nativePublic, 'http://localhost:49152/cb');
  });

  it('keeps exact matching for a confidential native client and for a public web client', async () => {
    await refused(nativeConfidential, 'http://127.0.0.1:49152/cb');
    await refused(webPublic, 'http://127.0.0.1:49152/cb');
    // Their registered URIs themselves work.
    const { url } = await authorize(webPublic, 'http://127.0.0.1/cb');
    const callback = await signIn(createUserAgent(), url, user, 'http://127.0.0.1/cb');
    expect(callback.searchParams.get('code')).toBeTruthy();
  });
});
