import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';
import { signIn } from './support/sign-in.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.refresh.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'grace@example.test', password: 'correct horse battery staple' };

describe('refresh-token rotation with a grace window', () => {
  const storage = newStorage();
  let gh: TestGatehouse;

  beforeAll(async () => {
    gh = await startTestGatehouse(storage);
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
  });
  afterAll(async () => {
    await gh?.stop();
    await dropStorage(storage);
  });

  async function clientWith(policy: { refreshTokenGraceSeconds?: number; refreshTokenIdleSeconds?: number; refreshTokenAbsoluteSeconds?: number }) {
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Mobile App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
      ...policy,
    });
    return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  }

  async function tokensFor(config: oauth.Configuration) {
    const verifier = oauth.randomPKCECodeVerifier();
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access read',
      prompt: 'consent',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await signIn(createUserAgent(), url, user, REDIRECT_URI);
    return oauth.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
  }

  it('answers a retry inside the window with the same response instead of revoking', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 30 });
    const first = await tokensFor(config);
    const rotated = await oauth.refreshTokenGrant(config, first.refresh_token!);
    const retry = await oauth.refreshTokenGrant(config, first.refresh_token!);
    expect(retry.refresh_token).toBe(rotated.refresh_token);
    expect(retry.access_token).toBe(rotated.access_token);
    // The chain goes on from the one successor.
    const next = await oauth.refreshTokenGrant(config, rotated.refresh_token!);
    expect(next.refresh_token).not.toBe(rotated.refresh_token);
  });

  it('lets N concurrent refreshes with one token all succeed with a single chain', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 30 });
    const first = await tokensFor(config);
    const results = await Promise.all(Array.from({ length: 6 }, () => oauth.refreshTokenGrant(config, first.refresh_token!)));
    expect(new Set(results.map((r) => r.refresh_token)).size).toBe(1);
    await expect(oauth.refreshTokenGrant(config, results[0]!.refresh_token!)).resolves.toBeTruthy();
  });

  it('treats a replay after the window as theft: the whole chain is revoked', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 1 });
    const first = await tokensFor(config);
    const rotated = await oauth.refreshTokenGrant(config, first.refresh_token!);
    // Inside the window the replay is answered; once it closes, the same replay revokes.
    await vi.waitFor(() => expect(oauth.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' }), {
      timeout: 5000,
      interval: 250,
    });
    await expect(oauth.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await vi.waitFor(async () =>
      expect(await gh.services.audit.list({ type: 'refresh_token.reuse_detected' })).toContainEqual(
        expect.objectContaining({ clientId: config.clientMetadata().client_id, ip: expect.any(String) }),
      ),
    );
  });

  it('with a zero window, revokes on the first replay', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 0 });
    const first = await tokensFor(config);
    const rotated = await oauth.refreshTokenGrant(config, first.refresh_token!);
    await expect(oauth.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oauth.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('slides the idle lifetime on each rotation but never past the absolute lifetime of the chain', async () => {
    const config = await clientWith({ refreshTokenIdleSeconds: 3600, refreshTokenAbsoluteSeconds: 5000 });
    const first = await tokensFor(config);
    const introspect = (token: string) => oauth.tokenIntrospection(config, token);
    const a = await introspect(first.refresh_token!);
    expect(a.exp! - a.iat!).toBe(3600);
    const rotated = await oauth.refreshTokenGrant(config, first.refresh_token!);
    const b = await introspect(rotated.refresh_token!);
    expect(b.active).toBe(true);
    expect(b.exp!).toBeLessThanOrEqual(a.iat! + 5000);
    expect(b.exp! - b.iat!).toBeLessThanOrEqual(3600);
  });

  it('refuses a policy longer than the server allows', async () => {
    await expect(clientWith({ refreshTokenAbsoluteSeconds: 10 ** 9 })).rejects.toMatchObject({ code: 'invalid_client' });
    await expect(clientWith({ refreshTokenGraceSeconds: -1 })).rejects.toMatchObject({ code: 'invalid_client' });
  });
});
