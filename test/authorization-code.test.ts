import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'ada@example.test', password: 'correct horse battery staple' };

describe('authorization code flow with PKCE', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;
  let publicConfig: oauth.Configuration;

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.accounts.registerAccount({ ...user, name: 'Ada' });
    const confidential = await gh.services.clients.registerClient({
      name: 'Web App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access email read',
      resources: [API],
      refreshTokenGraceSeconds: 0, // strict: any second use of a refresh token is theft (grace is tested elsewhere)
    });
    const pub = await gh.services.clients.registerClient({
      name: 'SPA',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
      tokenEndpointAuthMethod: 'none',
    });
    const options = { execute: [oauth.allowInsecureRequests] };
    config = await oauth.discovery(new URL(gh.issuer), confidential.client.client_id, undefined, oauth.ClientSecretBasic(confidential.clientSecret!), options);
    publicConfig = await oauth.discovery(new URL(gh.issuer), pub.client.client_id, undefined, oauth.None(), options);
  });

  /** Signs the user in for `cfg`; the code exchange of the callback. */
  async function authorize(cfg: oauth.Configuration, scope = 'openid offline_access read') {
    const flow = await startCodeFlow(cfg, { redirect_uri: REDIRECT_URI, scope, prompt: 'consent' });
    const callback = await signIn(createUserAgent(), flow.url, user, REDIRECT_URI);
    return { redeem: () => flow.redeem(callback) };
  }

  it('issues an RS256 at+jwt for the API, an ID token and a refresh token, all verifiable against the JWKS', async () => {
    const { redeem } = await authorize(config);
    const tokens = await redeem();
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()?.sub).toBeTruthy();

    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: API, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ scope: 'read', client_id: config.clientMetadata().client_id, sub: tokens.claims()!.sub });
    expect(payload.jti).toBeTruthy();
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('works for a public client with PKCE and no secret', async () => {
    const { redeem } = await authorize(publicConfig);
    const tokens = await redeem();
    expect(tokens.access_token.split('.')).toHaveLength(3);
  });

  it('refuses an authorization request without PKCE, even from a confidential client', async () => {
    const url = oauth.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'x' });
    const res = await fetch(url, { redirect: 'manual' });
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses implicit and hybrid response types', async () => {
    for (const responseType of ['token', 'id_token', 'code id_token']) {
      const url = oauth.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        response_type: responseType,
        nonce: 'n',
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      });
      const res = await fetch(url, { redirect: 'manual' });
      const location = new URL(res.headers.get('location')!.replace('#', '?'));
      expect(location.searchParams.get('error')).toBe('unsupported_response_type');
    }
  });

  it('renders an error page instead of redirecting to an unregistered redirect_uri', async () => {
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: 'https://evil.example/cb',
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toContain('redirect_uri');
  });

  it('rejects a reused authorization code with invalid_grant', async () => {
    const { redeem } = await authorize(config);
    await redeem();
    await expect(redeem()).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('rotates the refresh token on every use, and a spent one revokes the whole grant', async () => {
    const { redeem } = await authorize(config);
    const first = await redeem();
    const second = await oauth.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const { payload } = await jwtVerify(second.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { audience: API });
    expect(payload.scope).toBe('read');

    // Replaying the spent token is treated as theft: it fails and takes its successor with it.
    await expect(oauth.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oauth.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('lets exactly one of many concurrent redemptions of one refresh token win', async () => {
    const { redeem } = await authorize(config);
    const tokens = await redeem();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => oauth.refreshTokenGrant(config, tokens.refresh_token!)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('lets exactly one of many concurrent redemptions of one code win', async () => {
    const { redeem } = await authorize(config);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => redeem()));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('refuses an API scope the client was not registered for with invalid_scope', async () => {
    const { url } = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid write', resource: API });
    const res = await fetch(url, { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
  });
});
