import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'grace@example.test', password: 'id token passphrase 2026', name: 'Grace Hopper' };
// Claims of the JWT itself (RFC 7519 §4.1, OIDC Core §2 and §3.1.3.6), not about the user.
const TOKEN_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nonce', 'at_hash', 'c_hash', 'azp', 'jti']);

// Relying parties that read only the ID token (Auth.js, mod_auth_openidc's defaults) must find
// the user's granted claims there, and discovery must promise nothing it does not issue.
describe('ID token claims', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    // No API: the access token is userinfo's, the case where oidc-provider keeps claims out of the ID token.
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Profile App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access email profile',
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  });

  async function codeFlow(scope: string) {
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope, prompt: 'consent', nonce: oauth.randomNonce() });
    const signedInAt = Math.floor(Date.now() / 1000);
    const tokens = await flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI));
    return { tokens, signedInAt };
  }

  it('puts the granted email and profile claims, auth_time and sid in the ID token, as userinfo has them', async () => {
    const { tokens, signedInAt } = await codeFlow('openid email profile');
    const claims = tokens.claims()!;
    const userinfo = await oauth.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(claims).toMatchObject({ email: user.email, name: user.name });
    // email_verified is the account's own (what findAccount says, as userinfo shows it), never assumed.
    expect(typeof claims.email_verified).toBe('boolean');
    expect(claims.email_verified).toBe(userinfo.email_verified);
    expect(userinfo).toMatchObject({ sub: claims.sub, email: user.email, name: user.name });
    expect(claims.auth_time).toBeGreaterThanOrEqual(signedInAt - 5);
    expect(claims.auth_time).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 5);
    expect(typeof claims.sid).toBe('string');
  });

  it('keeps ungranted claims out: openid alone gives no email or name', async () => {
    const { tokens } = await codeFlow('openid');
    const claims = tokens.claims()!;
    expect(claims.email).toBeUndefined();
    expect(claims.name).toBeUndefined();
    expect(claims.auth_time).toBeTypeOf('number');
  });

  it('gives a refreshed ID token the same claims', async () => {
    const { tokens } = await codeFlow('openid offline_access email profile');
    const refreshed = await oauth.refreshTokenGrant(config, tokens.refresh_token!);
    const before = tokens.claims()!;
    const after = refreshed.claims()!;
    for (const claim of ['sub', 'email', 'email_verified', 'name', 'auth_time', 'sid']) {
      expect(after[claim], claim).toBeDefined();
      expect(after[claim], claim).toEqual(before[claim]);
    }
  });

  it('lists in claims_supported exactly the claims an ID token carries', async () => {
    const { tokens } = await codeFlow('openid email profile');
    const issued = Object.keys(tokens.claims()!).filter((c) => !TOKEN_CLAIMS.has(c) || c === 'iss');
    const supported = config.serverMetadata().claims_supported;
    expect([...supported!].sort()).toEqual(issued.sort());
  });
});
