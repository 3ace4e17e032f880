import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier, type Verifier } from '../src/verifier/index.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.deletion-backends.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'deleted-app-user@example.test', password: 'correct horse battery staple' };
const options = { execute: [oauth.allowInsecureRequests] };
type Creds = { id: string; secret: string };

/**
 * Issue 10 item 9 without Redis (short-lived state in Postgres: purge-client.ts's other branch,
 * which client-deletion.test.ts never runs): a deleted client's tokens die, its sessions' entries
 * go, and a refresh token it had rotated (a tombstone) gets nothing either.
 */
describe('deleting a client, with short-lived state in Postgres', () => {
  const gh = useTestGatehouse({}, { useRedis: false });
  let apiOwnClient: Creds;
  let verifier: Verifier;

  const basic = (c: Creds) => `Basic ${btoa(`${c.id}:${c.secret}`)}`;
  const introspect = async (caller: Creds, token: string) => {
    const res = await fetch(`${gh.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basic(caller), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    return ((await res.json()) as { active: boolean }).active;
  };
  const rowsNaming = async (clientId: string) =>
    (await gh.knex('oidc_payloads').whereRaw("payload->>'clientId' = ?", [clientId]).select('model')).map((r: { model: string }) => r.model).sort();

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
    const { client, clientSecret } = await gh.services.clients.registerClient({ name: 'the API', canIntrospect: true, resources: [API] });
    apiOwnClient = { id: client.client_id, secret: clientSecret! };
    verifier = createVerifier({
      issuer: gh.issuer,
      audience: [API],
      logger: { warn: () => {} },
      revocation: { clientId: apiOwnClient.id, clientSecret: apiOwnClient.secret, pollIntervalMs: 100 },
    });
    await verifier.ready();
  });
  afterAll(async () => {
    await verifier?.close();
  });

  it("kills a web app's access and refresh tokens, and removes it from its users' sessions", async () => {
    const web = await gh.services.clients.registerClient({
      name: 'web app to retire',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
    });
    const webConfig = await oauth.discovery(new URL(gh.issuer), web.client.client_id, undefined, oauth.ClientSecretBasic(web.clientSecret!), options);
    const ua = createUserAgent();
    const flow = await startCodeFlow(webConfig, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent' });
    const first = await flow.redeem(await signIn(ua, flow.url, user, REDIRECT_URI));
    const rotated = await oauth.refreshTokenGrant(webConfig, first.refresh_token!, { resource: API });
    const sessionId = ua.jar.get('_session')!;
    const clientId = web.client.client_id;
    expect(await introspect(apiOwnClient, rotated.access_token)).toBe(true);
    expect(Object.keys((await gh.provider.Session.find(sessionId))!.authorizations ?? {})).toContain(clientId);

    await gh.services.clients.deleteClient(clientId);

    expect(await introspect(apiOwnClient, rotated.access_token)).toBe(false);
    await vi.waitFor(() => expect(verifier.verify(rotated.access_token)).rejects.toMatchObject({ description: 'the token has been revoked' }), {
      timeout: 10_000,
      interval: 100,
    });
    expect(await rowsNaming(clientId)).toEqual([]);
    const session = await gh.provider.Session.find(sessionId);
    expect(session, 'the user is still signed in to Gatehouse').toBeTruthy();
    expect(Object.keys(session!.authorizations ?? {})).not.toContain(clientId);
    // Nothing answers for its tokens any more, the spent one included (its tombstone).
    expect(await gh.provider.RefreshToken.find(rotated.refresh_token!)).toBeUndefined();
    const spent = await gh.provider.RefreshToken.find(first.refresh_token!);
    expect(spent === undefined || (await gh.provider.Client.find(spent.clientId!)) === undefined).toBe(true);
  });
});
