import { decodeJwt } from 'jose';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { oauthError } from './support/oauth-error.ts';
import { type Answer, type Page, walkPages } from './support/page-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'rin@example.test', password: 'api-consent-passphrase' };
const t = MESSAGES.en;
const allowAll = (p: Page): Answer => (p.kind === 'login' ? { post: 'login', fields: user } : { post: 'confirm' });

/**
 * Hardening item 10: `/auth?resource=API&scope=openid` showed a consent page with only "know who
 * you are", then issued a user token with `aud=API`: the user never heard of the API. A token for
 * an API needs a consent that covers it (a grant holding scopes of that API), first-party apps aside.
 */
describe('API access needs a consent that names the API', () => {
  const gh = useTestGatehouse();

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.accounts.registerAccount(user);
  });

  const register = async (name: string, options: { isFirstParty?: boolean } = {}) => {
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name,
      redirectUris: [REDIRECT_URI],
      scope: 'openid email read write',
      resources: [API],
      ...options,
    });
    return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), { execute: [oauth.allowInsecureRequests] });
  };
  /** Signs in through the pages, allowing what is asked; the pages seen and the code exchange. */
  async function authorize(config: oauth.Configuration, params: Record<string, string>) {
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, ...params });
    const { pages, callback } = await walkPages(createUserAgent(), flow.url, REDIRECT_URI, allowAll);
    expect(callback?.searchParams.get('code'), callback?.href).toBeTruthy();
    const exchange = (resource?: string) => flow.redeem(callback!, resource ? { resource } : undefined);
    return { pages, exchange };
  }
  const audienceOf = (accessToken: string) => (accessToken.split('.').length === 3 ? decodeJwt(accessToken).aud : undefined);

  it('issues no token for an API the consent page never named (resource=API, scope=openid)', async () => {
    const config = await register('Sneaky App');
    const { pages, exchange } = await authorize(config, { resource: API, scope: 'openid' });
    expect(pages.map((p) => p.kind)).toEqual(['login', 'consent']);
    const consent = pages[1]!.body;
    expect(consent).toContain(t.scopes.standard.openid);
    expect(consent).not.toContain(API);
    // The application gets what the user allowed (who they are: a userinfo token), not the API.
    const tokens = await exchange();
    expect(audienceOf(tokens.access_token)).toBeUndefined();
    expect((await oauth.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).sub).toBe(tokens.claims()!.sub);
  });

  it('refuses invalid_target when such a code is exchanged for the API by name, or without openid', async () => {
    const config = await register('Sneakier App');
    const named = await authorize(config, { resource: API, scope: 'openid' });
    expect(await oauthError(named.exchange(API))).toEqual({ status: 400, error: 'invalid_target' });
    const noOpenid = await authorize(config, { resource: API, scope: 'email' });
    expect(noOpenid.pages.at(-1)!.body).not.toContain(API);
    expect(await oauthError(noOpenid.exchange())).toEqual({ status: 400, error: 'invalid_target' });
  });

  it('names the API and each scope asked of it, and then issues the API token', async () => {
    const config = await register('Honest App');
    const { pages, exchange } = await authorize(config, { resource: API, scope: 'openid read write' });
    const consent = pages.find((p) => p.kind === 'consent')!.body;
    expect(consent).toContain(t.scopes.api('read', API));
    expect(consent).toContain(t.scopes.api('write', API));
    const tokens = await exchange();
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: API, scope: 'read write' });
  });

  it('still gives a first-party application its API token without a consent page', async () => {
    const config = await register('Own App', { isFirstParty: true });
    const { pages, exchange } = await authorize(config, { resource: API, scope: 'openid read' });
    expect(pages.map((p) => p.kind)).toEqual(['login']);
    expect(decodeJwt((await exchange()).access_token)).toMatchObject({ aud: API, scope: 'read' });
  });
});
