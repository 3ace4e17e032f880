import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_REFRESH_GRANTS_PER_CLIENT } from '../src/oidc/sign-in-grants.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { type Answer, type Page, walkPages } from './support/page-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/**
 * Storage growth (faults issue): every sign-in in a new session made a new Grant (a Postgres row
 * living 104 days), so the grants table was bounded only by traffic × TTL. Sign-ins without
 * offline_access now share one Grant per user and client; each offline sign-in keeps a grant of
 * its own (it is the refresh-token family that revocation and reuse detection act on), at most
 * MAX_REFRESH_GRANTS_PER_CLIENT per user and client.
 */
describe('grants reused across sign-ins', { timeout: 120_000 }, () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;
  let n = 0;

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Busy App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid email offline_access read',
      resources: [API],
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  });

  const newUser = async () => {
    n += 1;
    const user = { email: `grants${n}@example.test`, password: `grant reuse passphrase ${n}` };
    const account = await gh.services.accounts.registerAccount(user);
    return { ...user, id: account.id };
  };
  const grantRows = async (accountId: string) =>
    Number((await gh.knex('oidc_payloads').where({ model: 'Grant', account_id: accountId }).count({ n: '*' }))[0]!.n);
  /** A prompt=consent sign-in through the pages, in `ua`'s session (a new browser by default); its tokens. */
  async function signIn(user: { email: string; password: string }, scope: string, ua: UserAgent = createUserAgent()) {
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope, prompt: 'consent' });
    const answer = (p: Page): Answer => (p.kind === 'login' ? { post: 'login', fields: user } : { post: 'confirm' });
    const { callback } = await walkPages(ua, flow.url, REDIRECT_URI, answer);
    return flow.redeem(callback!);
  }

  it('keeps one Grant per user and client across prompt=consent sign-ins in new sessions', async () => {
    const user = await newUser();
    for (let i = 0; i < 6; i += 1) {
      const tokens = await signIn(user, 'openid email');
      expect((await oauth.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).email).toBe(user.email);
    }
    expect(await grantRows(user.id)).toBe(1);
    // A wider request is consented to on the same grant.
    const wider = await signIn(user, 'openid email read');
    expect(wider.scope).toBe('read');
    expect(await grantRows(user.id)).toBe(1);
  });

  it('keeps repeated prompt=consent sign-ins in one session on one Grant, offline ones too', async () => {
    const user = await newUser();
    const ua = createUserAgent();
    for (let i = 0; i < 4; i += 1) await signIn(user, i % 2 ? 'openid offline_access read' : 'openid offline_access', ua);
    expect(await grantRows(user.id)).toBe(1);
  });

  it(`keeps offline sign-ins in their own grants, at most ${MAX_REFRESH_GRANTS_PER_CLIENT} per user and client: the oldest is revoked`, async () => {
    const user = await newUser();
    await signIn(user, 'openid email'); // the shared sign-in grant: not counted against offline ones
    const refreshTokens: string[] = [];
    for (let i = 0; i < MAX_REFRESH_GRANTS_PER_CLIENT + 2; i += 1) refreshTokens.push((await signIn(user, 'openid offline_access read')).refresh_token!);
    expect(await grantRows(user.id)).toBe(MAX_REFRESH_GRANTS_PER_CLIENT + 1);
    for (const token of refreshTokens.slice(0, 2)) {
      await expect(oauth.refreshTokenGrant(config, token)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    for (const token of refreshTokens.slice(2)) expect((await oauth.refreshTokenGrant(config, token)).access_token).toBeTruthy();
  });

  it('never lets one device’s sign-out reach another device’s refresh tokens', async () => {
    const user = await newUser();
    const phone = await signIn(user, 'openid offline_access read');
    const laptop = await signIn(user, 'openid offline_access read');
    await oauth.tokenRevocation(config, phone.refresh_token!, { token_type_hint: 'refresh_token' });
    await expect(oauth.refreshTokenGrant(config, phone.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oauth.refreshTokenGrant(config, laptop.refresh_token!)).access_token).toBeTruthy();
  });

  it('signs in again in a browser whose shared grant another browser’s sign-out revoked', async () => {
    const user = await newUser();
    const a = createUserAgent();
    const b = createUserAgent();
    await signIn(user, 'openid email', a);
    await signIn(user, 'openid email', b);
    const logout = await (await a.get(`${gh.issuer}/session/end`)).text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(logout)![1]!;
    expect((await a.postForm(`${gh.issuer}/session/end/confirm`, { xsrf, logout: 'yes' })).status).toBe(303);
    const again = await signIn(user, 'openid email', b); // b's session is still signed in: consent only
    expect((await oauth.fetchUserInfo(config, again.access_token, again.claims()!.sub)).email).toBe(user.email);
    expect(await grantRows(user.id)).toBe(1);
  });
});
