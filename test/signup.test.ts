import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Answer, authorizationUrl, type Page, walkPages } from './support/page-flow.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const existing = { email: 'taken@example.test', password: 'an existing passphrase' };

async function registerApp(gh: TestGatehouse): Promise<oauth.Configuration> {
  const { client, clientSecret } = await gh.services.clients.registerClient({
    name: 'Signup App',
    redirectUris: [REDIRECT_URI],
    scope: 'openid email profile',
  });
  return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
    execute: [oauth.allowInsecureRequests],
  });
}

/** The login page of a new flow, and its interaction address. */
async function loginPage(ua: UserAgent, config: oauth.Configuration) {
  const { pages } = await walkPages(
    ua,
    await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid email profile' }),
    REDIRECT_URI,
    () => 'stop',
  );
  expect(pages.map((p) => p.kind)).toEqual(['login']);
  return { body: pages[0]!.body, interaction: pages[0]!.url.href.replace(/\/$/, '') };
}

describe('sign-up', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;

  beforeAll(async () => {
    config = await registerApp(gh);
    await gh.services.accounts.registerAccount(existing);
  });

  /** Posts the sign-up form of a fresh flow. */
  async function signUp(fields: Record<string, string>) {
    const ua = createUserAgent();
    const { interaction } = await loginPage(ua, config);
    const res = await ua.postForm(`${interaction}/signup`, fields);
    return { ua, res, interaction, body: res.status === 200 || res.status >= 400 ? await res.text() : '' };
  }

  it('links the login page to a sign-up form with labelled name, email and password fields', async () => {
    const ua = createUserAgent();
    const { body, interaction } = await loginPage(ua, config);
    const uid = new URL(interaction).pathname.split('/')[2];
    expect(body).toContain(`href="/interaction/${uid}/signup"`);
    const form = await ua.get(`${interaction}/signup`);
    const html = await form.text();
    expect(form.status).toBe(200);
    for (const id of ['name', 'email', 'password']) expect(html).toContain(`<label for="${id}">`);
    expect(html).toContain('autocomplete="new-password"');
    expect(html).toContain('aria-describedby="password-hint"');
  });

  it('creates the account, signs it in and continues to consent and the client', async () => {
    const ua = createUserAgent();
    const answer = (p: Page): Answer =>
      p.kind === 'login' ? { post: 'signup', fields: { name: 'Hana', email: 'Hana@Example.test', password: 'a brand new passphrase' } } : { post: 'confirm' };
    const result = await walkPages(ua, await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid email' }), REDIRECT_URI, answer);
    expect(result.pages.map((p) => p.kind)).toEqual(['login', 'consent']);
    expect(result.pages[1]!.body).toContain('hana@example.test');
    expect(result.callback?.searchParams.get('code')).toBeTruthy();
    const account = await gh.services.accounts.authenticate('hana@example.test', 'a brand new passphrase');
    expect(account).toMatchObject({ email: 'hana@example.test', name: 'Hana' });
  });

  it.each([
    ['a password shorter than 8 characters', { password: 'short' }, 'password', 'at least 8 characters'],
    ['one of the most common passwords', { password: 'Password1' }, 'password', 'most commonly used'],
    ['an invalid email address', { email: 'not-an-email' }, 'email', 'valid email address'],
  ])('refuses %s with 400, says why beside the field and keeps what was typed', async (_name, change, fieldInError, why) => {
    const { res, body } = await signUp({ name: 'Jun', email: 'jun@example.test', password: 'a fine passphrase', ...change });
    expect(res.status).toBe(400);
    expect(body).toMatch(new RegExp(`<p class="error" role="alert" id="form-error">[^<]*${why}`));
    expect(body).toMatch(new RegExp(`id="${fieldInError}"[^>]*aria-invalid="true"[^>]*aria-describedby="form-error`));
    expect(body).toContain('value="Jun"');
    expect(body).not.toContain('a fine passphrase');
  });

  it('answers a registered email with a generic refusal that signs nobody in and changes nothing', async () => {
    const taken = await signUp({ email: 'TAKEN@example.test', password: 'someone elses passphrase' });
    expect(taken.res.status).toBe(400);
    expect(taken.body).toContain('We could not create an account with these details. If you already have an account, sign in instead.');
    expect(taken.body).not.toMatch(/already (exists|registered)/i);
    expect(taken.ua.jar.has('_session')).toBe(false);
    expect(await gh.services.accounts.authenticate(existing.email, existing.password)).toBeTruthy();
    expect(await gh.services.accounts.authenticate(existing.email, 'someone elses passphrase')).toBeUndefined();
  });
});

describe('sign-up turned off (SIGNUP_ENABLED=false)', () => {
  const gh = useTestGatehouse({ SIGNUP_ENABLED: 'false' });
  let config: oauth.Configuration;

  beforeAll(async () => {
    config = await registerApp(gh);
  });

  it('shows no sign-up link and answers the sign-up page and form with a 404 page', async () => {
    const ua = createUserAgent();
    const { body, interaction } = await loginPage(ua, config);
    expect(body).not.toContain('/signup');
    const page = await ua.get(`${interaction}/signup`);
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('Page not found');
    const post = await ua.postForm(`${interaction}/signup`, { email: 'new@example.test', password: 'a brand new passphrase' });
    expect(post.status).toBe(404);
    expect(await gh.services.accounts.findByEmail('new@example.test')).toBeUndefined();
  });
});
