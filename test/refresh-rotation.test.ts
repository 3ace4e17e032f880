import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.refresh.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'grace@example.test', password: 'correct horse battery staple' };

describe('refresh-token rotation with a grace window', () => {
  const gh = useTestGatehouse();

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
  });

  async function clientWith(policy: { refreshTokenGraceSeconds?: number; refreshTokenIdleSeconds?: number; refreshTokenAbsoluteSeconds?: number }) {
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Mobile App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
      ...policy,
    });
    return configFor(client.client_id, clientSecret!, oauth.ClientSecretBasic(clientSecret!));
  }

  const configFor = (clientId: string, secret: string, auth: oauth.ClientAuth) =>
    oauth.discovery(new URL(gh.issuer), clientId, { client_secret: secret }, auth, { execute: [oauth.allowInsecureRequests] });

  const reuseDetectedFor = (clientId: string) =>
    vi.waitFor(async () =>
      expect(await gh.services.audit.list({ type: 'refresh_token.reuse_detected' })).toContainEqual(expect.objectContaining({ clientId })),
    );

  const reuseMetric = async () => {
    const text = await (await fetch(`${gh.issuer}/metrics`)).text();
    return Number(/^gatehouse_token_reuse_detected_total\{kind="refresh_token"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };

  /** The refresh-token rows oidc-provider's storage holds for one client (live and spent). */
  const storedRefreshTokens = async (clientId: string) =>
    Number((await gh.knex('oidc_payloads').where({ model: 'RefreshToken' }).whereRaw("payload->>'clientId' = ?", [clientId]).count({ n: '*' }).first())!.n);

  async function tokensFor(config: oauth.Configuration) {
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent' });
    return flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI));
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

  it('revokes the grant when a parent is replayed after its successor was redeemed, even inside the window (RFC 9700 §4.14.2)', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 30 });
    const rt0 = (await tokensFor(config)).refresh_token!;
    const rt1 = (await oauth.refreshTokenGrant(config, rt0)).refresh_token!;
    const rt2 = (await oauth.refreshTokenGrant(config, rt1)).refresh_token!;
    const detectedBefore = await reuseMetric();
    // Whoever holds rt0 never saw rt1's redemption: the holder of rt2 did. Two parties use one chain.
    await expect(oauth.refreshTokenGrant(config, rt0)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oauth.refreshTokenGrant(config, rt2)).rejects.toMatchObject({ error: 'invalid_grant' });
    await reuseDetectedFor(config.clientMetadata().client_id);
    expect(await reuseMetric()).toBe(detectedBefore + 1);
  });

  it('answers a retry by the same client with its credentials encoded another way', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 30 });
    const { client_id: clientId, client_secret: secret } = config.clientMetadata() as { client_id: string; client_secret: string };
    const first = await tokensFor(config);
    const rotated = await oauth.refreshTokenGrant(config, first.refresh_token!);
    // The same client_secret_basic credentials as another client library may send them: the scheme
    // in lower case, every character percent-encoded (RFC 6749 §2.3.1), client_id in the form too.
    const encodeAll = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
    const res = await fetch(new URL('/token', gh.issuer), {
      method: 'POST',
      headers: {
        authorization: `basic ${Buffer.from(`${encodeAll(clientId)}:${encodeAll(secret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token!, client_id: clientId }),
    });
    expect(res.status).toBe(200);
    const retry = (await res.json()) as { refresh_token: string; access_token: string };
    expect(retry.refresh_token).toBe(rotated.refresh_token);
    expect(retry.access_token).toBe(rotated.access_token);
    await expect(oauth.refreshTokenGrant(config, rotated.refresh_token!)).resolves.toBeTruthy();
  });

  it("never gives the saved answer to another client presenting the token, and keeps the owner's chain", async () => {
    const owner = await clientWith({ refreshTokenGraceSeconds: 30 });
    const other = await clientWith({ refreshTokenGraceSeconds: 30 });
    const first = await tokensFor(owner);
    const rotated = await oauth.refreshTokenGrant(owner, first.refresh_token!);
    // oidc-provider's own rule for a token of another client: invalid_grant, nothing revoked.
    await expect(oauth.refreshTokenGrant(other, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oauth.refreshTokenGrant(other, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oauth.refreshTokenGrant(owner, rotated.refresh_token!)).resolves.toBeTruthy();
  });

  it('keeps one stored refresh token per chain, and a spent one still revokes the chain when replayed after its window', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 1 });
    const clientId = config.clientMetadata().client_id;
    const spent = [(await tokensFor(config)).refresh_token!];
    for (let i = 0; i < 5; i += 1) spent.push((await oauth.refreshTokenGrant(config, spent.at(-1)!)).refresh_token!);
    const live = spent.pop()!;
    expect(await storedRefreshTokens(clientId)).toBe(1);
    // The parent of the live token, replayed once its window has closed: theft, as before.
    await vi.waitFor(() => expect(oauth.refreshTokenGrant(config, spent.at(-1)!)).rejects.toMatchObject({ error: 'invalid_grant' }), {
      timeout: 5000,
      interval: 250,
    });
    await expect(oauth.refreshTokenGrant(config, live)).rejects.toMatchObject({ error: 'invalid_grant' });
    await reuseDetectedFor(clientId);
    expect(await storedRefreshTokens(clientId)).toBe(0);
  });

  it('reports a spent token inactive and, revoked by its client, ends the chain (its tombstone stands in for it)', async () => {
    const config = await clientWith({ refreshTokenGraceSeconds: 30 });
    const spent = (await tokensFor(config)).refresh_token!;
    const live = (await oauth.refreshTokenGrant(config, spent)).refresh_token!;
    expect(await oauth.tokenIntrospection(config, spent)).toMatchObject({ active: false });
    await oauth.tokenRevocation(config, spent);
    await expect(oauth.refreshTokenGrant(config, live)).rejects.toMatchObject({ error: 'invalid_grant' });
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
