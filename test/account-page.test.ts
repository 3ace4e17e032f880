import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ACCOUNT_CLIENT_ID } from '../src/clients/built-in-clients.ts';
import { MESSAGES } from '../src/i18n/messages.ts';
import { createUpstreamIdentityRepository } from '../src/upstreams/upstream-identity-repository.ts';
import { API, authorize, linkIn, REDIRECT_URI, registerApp, signInForTokens } from './support/account-lifecycle.ts';
import { accountCsrf, followToPage, openAccountPage, postAccountForm } from './support/account-page.ts';
import { oauthError } from './support/oauth-error.ts';
import { authorizationUrl, walkPages } from './support/page-flow.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const t = MESSAGES.en;
const ANDROID_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
const confirmLink = (text: string | undefined) => {
  const url = new URL(/https?:\/\/\S+/.exec(text ?? '')![0]);
  expect(url.pathname).toBe('/account/confirm-email');
  return url;
};

describe('the account page', { timeout: 120_000 }, () => {
  let smtp: TestSmtp;
  let app: oauth.Configuration;
  let n = 0;

  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  // Throttle settings low enough to reach in a test; per IP loose enough for the rest of the file.
  const gh = useTestGatehouse(() => ({
    SMTP_URL: smtp.url,
    LOGIN_THROTTLE_FREE_ATTEMPTS: '3',
    LOGIN_THROTTLE_BLOCK_AFTER: '6',
    LOGIN_THROTTLE_IP_FACTOR: '100',
  }));
  beforeAll(async () => {
    app = await registerApp(gh, { isFirstParty: false }); // asks for consent, so that a forgotten consent shows
  });

  const newUser = async () => {
    n += 1;
    const user = { email: `user${n}@example.test`, password: `the passphrase of user ${n}` };
    return { ...user, id: (await gh.services.accounts.registerAccount(user)).id };
  };
  const pageOf = async (ua: ReturnType<typeof createUserAgent>) => (await ua.get(`${gh.issuer}/account`)).text();
  const forwardAuth = (token: string) =>
    fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(API)}`, { headers: { authorization: `Bearer ${token}` } });

  it('is reached through an ordinary sign-in: /auth as the built-in client with PKCE; a browser signed in already is not asked again', async () => {
    const user = await newUser();
    const res = await createUserAgent().get(`${gh.issuer}/account`);
    expect(res.status).toBe(303);
    const auth = new URL(res.headers.get('location')!);
    expect(auth.origin + auth.pathname).toBe(`${gh.issuer}/auth`);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({
      client_id: ACCOUNT_CLIENT_ID,
      response_type: 'code',
      redirect_uri: `${gh.issuer}/account/callback`,
      code_challenge_method: 'S256',
      scope: 'openid',
    });
    expect(auth.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
    expect(auth.searchParams.get('prompt')).toBeNull();

    // Signed in at an application: the account page needs no password.
    const { ua } = await signInForTokens(app, user);
    const page = await openAccountPage(gh, undefined, ua);
    expect(page.body).toContain(t.account.signedInAs(user.email));
    // Never shown to operators as one of their clients, nor deletable.
    expect((await gh.services.clients.listClients()).map((c) => c.client_id)).not.toContain(ACCOUNT_CLIENT_ID);
    await expect(gh.services.clients.deleteClient(ACCOUNT_CLIENT_ID)).rejects.toMatchObject({ status: 403 });
  });

  it("refuses a callback that is not this browser's: without its transaction, or with another state", async () => {
    const user = await newUser();
    const ua = createUserAgent();
    const start = `${gh.issuer}/account`;
    // Up to the callback, without following it.
    let res = await ua.get(start);
    let url = new URL(start);
    let callback: URL | undefined;
    for (let hops = 0; hops < 12 && !callback; hops += 1) {
      const location = res.headers.get('location');
      if (location) {
        url = new URL(location, url);
        if (url.pathname === '/account/callback') callback = url;
        else res = await ua.get(url.href);
      } else {
        res = await ua.postForm(`${url.origin}${url.pathname.replace(/\/$/, '')}/login`, user);
      }
    }
    expect(callback?.searchParams.get('code')).toBeTruthy();
    // Another browser (an attacker's link with someone's code): no transaction of its own.
    expect((await createUserAgent().get(callback!.href)).status).toBe(400);
    // This browser, another state: refused, and the transaction is used up.
    const forged = new URL(callback!);
    forged.searchParams.set('state', 'x'.repeat(43));
    expect((await ua.get(forged.href)).status).toBe(400);
    expect((await ua.get(callback!.href)).status).toBe(400);
    expect(ua.jar.has('gatehouse.account')).toBe(false);
  });

  it("refuses every form without this page session's CSRF token (403), and changes nothing", async () => {
    const user = await newUser();
    const { ua, body, csrf } = await openAccountPage(gh, user);
    const other = await openAccountPage(gh, await newUser());
    expect(other.csrf).not.toBe(csrf);
    const forms: Record<string, Record<string, string>> = {
      '/account/profile': { name: 'Mallory' },
      '/account/email/verify': {},
      '/account/email': { email: 'mallory@example.test' },
      '/account/password': { current: user.password, password: 'mallory chose this passphrase' },
      '/account/identities/unlink': { upstream: 'google', subject: 'x' },
      '/account/sessions/end': { session: 'x' },
      '/account/sessions/end-all': {},
      '/account/apps/revoke': { client: 'x' },
      '/account/delete': { password: user.password },
    };
    // Every form the page renders is among them (a new form without a token would fail here).
    const actions = [...body.matchAll(/<form method="post" action="([^"]+)"/g)].map((m) => m[1]!);
    expect(actions.length).toBeGreaterThan(5);
    for (const action of actions) expect(Object.keys(forms)).toContain(action);
    for (const [path, fields] of Object.entries(forms)) {
      for (const token of [undefined, '', other.csrf, `${csrf.slice(0, -2)}AA`]) {
        const res = await postAccountForm(gh, ua, path, token, fields);
        expect(res.status, `${path} with ${token}`).toBe(403);
        expect(await res.text()).toContain('invalid_form');
      }
    }
    expect(await gh.services.accounts.findById(user.id)).toMatchObject({ name: null, email: user.email });
    expect(await gh.services.accounts.authenticate(user.email, user.password)).toBeDefined();
    expect(await gh.knex('one_time_tokens').where({ account_id: user.id })).toHaveLength(0);
    expect(await pageOf(ua)).toContain(t.account.title); // still signed in
    // With the token, the same form works.
    const saved = await postAccountForm(gh, ua, '/account/profile', csrf, { name: 'Ada' });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/account?done=name_saved#profile');
    expect(await gh.services.accounts.findById(user.id)).toMatchObject({ name: 'Ada' });
  });

  it('needs a recent sign-in for password, email and delete; "confirm it is you" asks for the password again', async () => {
    const user = await newUser();
    const { ua, csrf } = await openAccountPage(gh, user);
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000); // the sign-in is 11 minutes old
      const page = await pageOf(ua);
      expect(page).toContain(t.account.recentButton);
      for (const form of ['/account/email"', '/account/password"', '/account/delete"']) expect(page).not.toContain(`action="${form}`);
      expect(page).toContain('action="/account/profile"'); // not a sensitive one
      for (const [path, fields] of [
        ['/account/email', { email: 'later@example.test' }],
        ['/account/password', { current: user.password, password: 'a passphrase set too late' }],
        ['/account/delete', { password: user.password }],
      ] as const) {
        const res = await postAccountForm(gh, ua, path, csrf, fields);
        expect(res.status, path).toBe(403);
        expect(await res.text()).toContain(t.account.recentRefused);
      }
      expect(await gh.services.accounts.findById(user.id)).toBeDefined();
      expect(await gh.services.accounts.authenticate(user.email, user.password)).toBeDefined();
      expect(await gh.knex('one_time_tokens').where({ account_id: user.id, purpose: 'change_email' })).toHaveLength(0);

      // "Confirm it is you": prompt=login, so the sign-in page asks although the session is live.
      const reauth = await ua.get(`${gh.issuer}/account/sign-in?reauth=1&section=delete`);
      expect(new URL(reauth.headers.get('location')!).searchParams.get('prompt')).toBe('login');
      const login = await followToPage(ua, reauth, `${gh.issuer}/account/sign-in`);
      expect(login.url.pathname).toMatch(/^\/interaction\//);
      expect(login.body).toContain('name="password"');
      const back = await followToPage(ua, await ua.postForm(`${login.url.origin}${login.url.pathname.replace(/\/$/, '')}/login`, user), login.url.href);
      expect(back.url.pathname).toBe('/account');
      expect(back.body).toContain('action="/account/delete"');
      const deleted = await postAccountForm(gh, ua, '/account/delete', accountCsrf(back.body), { password: user.password });
      expect(deleted.status).toBe(200);
      expect(await deleted.text()).toContain(t.account.deletedTitle);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts a wrong password on the page as a failed sign-in: the sign-in throttle, shared with the sign-in page', async () => {
    const user = await newUser();
    const { ua, csrf } = await openAccountPage(gh, user);
    for (let i = 0; i < 3; i += 1) {
      const res = await postAccountForm(gh, ua, '/account/password', csrf, { current: 'not the password', password: 'a new passphrase here' });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(t.account.wrongPassword);
    }
    const throttled = await postAccountForm(gh, ua, '/account/delete', csrf, { password: user.password });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await gh.services.accounts.findById(user.id)).toBeDefined();
    // The sign-in page counts the same failures for this address.
    const { url } = await authorize(app);
    const elsewhere = createUserAgent();
    const loginPage = await followToPage(elsewhere, await elsewhere.get(url.href), url.href);
    const signIn = await elsewhere.postForm(`${loginPage.url.origin}${loginPage.url.pathname.replace(/\/$/, '')}/login`, user);
    expect(signIn.status).toBe(429);
  });

  it("changes the email only once the new address's link is followed, then tells the old address", async () => {
    const user = await newUser();
    const newEmail = `renamed${n}@example.test`;
    const { ua, csrf } = await openAccountPage(gh, user);
    const asked = await postAccountForm(gh, ua, '/account/email', csrf, { email: newEmail.toUpperCase() });
    expect(asked.status).toBe(303);
    expect(await pageOf(ua)).toContain(t.account.email.pending(newEmail));
    const mail = await smtp.nextMessageFor(newEmail);
    expect(mail.subject).toBe('Confirm your new email address (Gatehouse)');
    expect(mail.html).toBeTruthy();
    const link = confirmLink(mail.text);
    // Nothing changes until the link is used, and a GET (a mail scanner) does not use it.
    const shown = await fetch(link, { headers: { accept: 'text/html' } });
    expect(shown.status).toBe(200);
    expect(await gh.services.accounts.findById(user.id)).toMatchObject({ email: user.email });
    expect(await gh.services.accounts.authenticate(user.email, user.password)).toBeDefined();

    const confirmed = await createUserAgent().postForm(`${gh.issuer}/account/confirm-email`, { token: link.searchParams.get('token')! });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain(t.confirmEmail.done(newEmail));
    expect(await gh.services.accounts.findById(user.id)).toMatchObject({ email: newEmail, emailVerified: true });
    const told = await smtp.nextMessageFor(user.email);
    expect(told.subject).toBe('Your email address was changed (Gatehouse)');
    expect(told.text).toContain(newEmail);
    expect(told.html).toContain(newEmail);
    expect(told.text).not.toMatch(/https?:\/\//); // a notice: nothing to follow
    // Used once; the new address signs in (and apps see it verified), the old one no longer.
    expect((await createUserAgent().postForm(`${gh.issuer}/account/confirm-email`, { token: link.searchParams.get('token')! })).status).toBe(400);
    expect(await gh.services.accounts.authenticate(user.email, user.password)).toBeUndefined();
    const { tokens } = await signInForTokens(app, { email: newEmail, password: user.password });
    expect(tokens.claims()).toMatchObject({ email: newEmail, email_verified: true });
    await gh.services.audit.flush();
    const [event] = await gh.services.audit.list({ type: 'account.email_changed', accountId: user.id });
    expect(JSON.stringify(event)).not.toContain('@'); // the trail outlives the account: no addresses
  });

  it('gives the address to the prover, but never one another account holds verified', async () => {
    const user = await newUser();
    const squatter = await newUser(); // signed up with an address it never proved
    const holder = await newUser();
    await gh.services.users.update({ id: holder.id }, { emailVerified: true }, { via: 'cli' });
    const { ua, csrf } = await openAccountPage(gh, user);

    // A verified holder keeps it: the request looks the same, the link says it is taken.
    expect((await postAccountForm(gh, ua, '/account/email', csrf, { email: holder.email })).status).toBe(303);
    const taken = confirmLink((await smtp.nextMessageFor(holder.email)).text);
    const refused = await createUserAgent().postForm(`${gh.issuer}/account/confirm-email`, { token: taken.searchParams.get('token')! });
    expect(refused.status).toBe(409);
    expect(await gh.services.accounts.findById(user.id)).toMatchObject({ email: user.email });

    // An unproven claim loses to the proof.
    expect((await postAccountForm(gh, ua, '/account/email', csrf, { email: squatter.email })).status).toBe(303);
    const proof = confirmLink((await smtp.nextMessageFor(squatter.email)).text);
    expect((await createUserAgent().postForm(`${gh.issuer}/account/confirm-email`, { token: proof.searchParams.get('token')! })).status).toBe(200);
    expect(await gh.services.accounts.findById(user.id)).toMatchObject({ email: squatter.email, emailVerified: true });
    expect(await gh.services.accounts.findById(squatter.id)).toMatchObject({ email: null });
  });

  it('lists each browser with when it was last used, signs one out, then every one', async () => {
    const user = await newUser();
    const laptop = await openAccountPage(gh, user);
    const phone = await openAccountPage(gh, user, createUserAgent(), { 'user-agent': ANDROID_CHROME });
    const page = await pageOf(laptop.ua);
    expect(page).toContain('Chrome on Android');
    expect(page).toContain(t.account.sessions.thisBrowser);
    expect((page.match(/name="session" value="/g) ?? []).length).toBe(2);
    expect(page).toMatch(/Last used \w{3} \d{1,2}, \d{4}/);
    // The phone's entry (the one not marked as this browser).
    const phoneHandle = /Chrome on Android<\/h3>[\s\S]*?name="session" value="([^"]+)"/.exec(page)![1]!;
    const ended = await postAccountForm(gh, laptop.ua, '/account/sessions/end', laptop.csrf, { session: phoneHandle });
    expect(ended.headers.get('location')).toBe('/account?done=session_ended#sessions');
    // The phone's page and its Gatehouse session are gone: it must sign in again, with the password.
    const again = await followToPage(phone.ua, await phone.ua.get(`${gh.issuer}/account`), `${gh.issuer}/account`);
    expect(again.body).toContain('name="password"');
    expect(await pageOf(laptop.ua)).toContain(t.account.title);

    const everywhere = await postAccountForm(gh, laptop.ua, '/account/sessions/end-all', laptop.csrf);
    expect(await everywhere.text()).toContain(t.account.signedOutEverywhere);
    const laptopAgain = await followToPage(laptop.ua, await laptop.ua.get(`${gh.issuer}/account`), `${gh.issuer}/account`);
    expect(laptopAgain.body).toContain('name="password"');
    expect(await gh.services.accountAccess.sessions(user.id)).toEqual([]);
  });

  it('revokes an app: its refresh token and access token are refused (forward-auth within seconds), and its next sign-in asks again', async () => {
    const user = await newUser();
    const { ua, tokens } = await signInForTokens(app, user, createUserAgent(), { scope: 'openid email offline_access read', resource: API });
    // A second device: a refresh-token family (a grant) of its own (sign-in-grants.ts).
    const { tokens: phone } = await signInForTokens(app, user, createUserAgent(), { scope: 'openid email offline_access read', resource: API });
    expect(await gh.knex('sign_in_grants').where({ account_id: user.id, is_offline: true })).toHaveLength(2);
    expect(tokens.refresh_token).toBeTruthy();
    expect((await forwardAuth(tokens.access_token)).status).toBe(200);
    // Asked without prompt=consent, the remembered consent answers: no consent page.
    const before = await walkPages(
      ua,
      await authorizationUrl(app, { redirect_uri: REDIRECT_URI, scope: 'openid email read', resource: API }),
      REDIRECT_URI,
      () => 'stop',
    );
    expect(before.pages.map((p) => p.kind)).toEqual([]);

    const page = await openAccountPage(gh, undefined, ua);
    expect(page.body).toContain('Lifecycle App');
    expect(page.body).toContain(t.scopes.api('read', API));
    const revoked = await postAccountForm(gh, ua, '/account/apps/revoke', page.csrf, { client: app.clientMetadata().client_id });
    expect(revoked.headers.get('location')).toBe('/account?done=app_revoked#apps');
    expect(await pageOf(ua)).toContain(t.account.apps.none);

    for (const family of [tokens, phone]) {
      expect(await oauthError(oauth.refreshTokenGrant(app, family.refresh_token!))).toMatchObject({ status: 400, error: 'invalid_grant' });
      await expect.poll(async () => (await forwardAuth(family.access_token)).status, { timeout: 10_000, interval: 250 }).toBe(401);
    }
    const after = await walkPages(
      ua,
      await authorizationUrl(app, { redirect_uri: REDIRECT_URI, scope: 'openid email read', resource: API }),
      REDIRECT_URI,
      () => 'stop',
    );
    expect(after.pages.map((p) => p.kind)).toEqual(['consent']);
    await gh.services.audit.flush();
    expect(await gh.services.audit.list({ type: 'consent.revoked', accountId: user.id })).toHaveLength(1);
  });

  it('deletes the account with its password: sessions, grants, tokens, identities, consents and links go; the audit keeps a pseudonymous record', async () => {
    const user = await newUser();
    const { ua, tokens } = await signInForTokens(app, user, createUserAgent(), { scope: 'openid email offline_access read', resource: API });
    await createUpstreamIdentityRepository(gh.knex).link({ upstreamId: 'google', subject: `google-${n}`, accountId: user.id, email: user.email });
    await gh.services.verification.send((await gh.services.accounts.findById(user.id))!, 'en');
    const has = async () => ({
      accounts: (await gh.knex('accounts').where({ id: user.id })).length,
      entries: (await gh.knex('oidc_payloads').where({ account_id: user.id })).length + (gh.redis ? (await gh.redis.smembers(`account:${user.id}`)).length : 0),
      consents: (await gh.knex('consents').where({ account_id: user.id })).length,
      identities: (await gh.knex('upstream_identities').where({ account_id: user.id })).length,
      grants: (await gh.knex('sign_in_grants').where({ account_id: user.id })).length,
      links: (await gh.knex('one_time_tokens').where({ account_id: user.id })).length,
    });
    expect(Object.values(await has()).every((count) => count > 0)).toBe(true);

    const { csrf } = await openAccountPage(gh, undefined, ua);
    const wrong = await postAccountForm(gh, ua, '/account/delete', csrf, { password: 'not my password' });
    expect(wrong.status).toBe(400);
    expect((await has()).accounts).toBe(1);
    const deleted = await postAccountForm(gh, ua, '/account/delete', csrf, { password: user.password });
    expect(deleted.status).toBe(200);
    expect(await deleted.text()).toContain(t.account.deleted);

    expect(await has()).toEqual({ accounts: 0, entries: 0, consents: 0, identities: 0, grants: 0, links: 0 });
    expect(await oauthError(oauth.refreshTokenGrant(app, tokens.refresh_token!))).toMatchObject({ status: 400, error: 'invalid_grant' });
    await expect.poll(async () => (await forwardAuth(tokens.access_token)).status, { timeout: 10_000, interval: 250 }).toBe(401);
    expect((await ua.get(`${gh.issuer}/account`)).status).toBe(303); // the page's cookie leads nowhere: a new sign-in
    await gh.services.audit.flush();
    const trail = await gh.services.audit.list({ accountId: user.id, limit: 1000 });
    expect(trail.find((e) => e.type === 'user.deleted')?.details).toEqual({ via: 'account_page' });
    expect(JSON.stringify(trail)).not.toContain(user.email);
  });

  it('answers bad input with a 4xx page, never a 5xx: NUL bytes, long and repeated fields, other media types, dead links', async () => {
    const user = await newUser();
    const { ua, csrf } = await openAccountPage(gh, user);
    const cases: [string, string, Record<string, string> | string, number][] = [
      ['/account/apps/revoke', 'form', { client: 'a\u0000b' }, 303],
      ['/account/identities/unlink', 'form', { upstream: 'google\u0000', subject: 'x\u0000' }, 303],
      ['/account/identities/unlink', 'form', { upstream: 'g'.repeat(5000), subject: 'x' }, 303],
      ['/account/profile', 'form', { name: 'bad\u0000name' }, 400],
      ['/account/profile', 'form', { name: 'n'.repeat(1000) }, 400],
      ['/account/email', 'form', { email: 'x\u0000@example.test' }, 400],
      ['/account/email', 'raw', `csrf=${csrf}&email=a@example.test&email=b@example.test`, 400],
      ['/account/profile', 'json', JSON.stringify({ csrf, name: 'x' }), 415],
      ['/account/profile', 'raw', `csrf=${csrf}&name=${'x'.repeat(20_000)}`, 413],
    ];
    for (const [path, kind, body, status] of cases) {
      const res =
        kind === 'form'
          ? await postAccountForm(gh, ua, path, csrf, body as Record<string, string>)
          : await ua.request(`${gh.issuer}${path}`, {
              method: 'POST',
              headers: { 'content-type': kind === 'json' ? 'application/json' : 'application/x-www-form-urlencoded', accept: 'text/html' },
              body: body as string,
            });
      expect(res.status, `${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(status);
    }
    for (const url of [
      '/account/confirm-email?token=%00',
      `/account/confirm-email?token=${'a'.repeat(43)}`,
      '/account/callback?code=%00&state=%00',
      '/account/sign-in?section=%3Cscript%3E',
    ]) {
      const res = await ua.get(`${gh.issuer}${url}`);
      expect(res.status, url).toBeLessThan(500);
    }
    expect(await gh.services.accounts.findById(user.id)).toMatchObject({ name: null, email: user.email });
  });

  it("sends a verification link for an unverified address, throttled like the sign-in pages' resend", async () => {
    const user = await newUser();
    const { ua, csrf } = await openAccountPage(gh, user);
    const sent = await postAccountForm(gh, ua, '/account/email/verify', csrf);
    expect(sent.headers.get('location')).toBe('/account?done=verification_sent#email');
    const mail = await smtp.nextMessageFor(user.email);
    expect(linkIn(mail, '/account/verify-email')).toBeTruthy();
    let status = 303;
    for (let i = 0; i < 5 && status !== 429; i += 1) status = (await postAccountForm(gh, ua, '/account/email/verify', csrf)).status;
    expect(status).toBe(429);
  });
});

describe('the account page and the sign-in rules', { timeout: 60_000 }, () => {
  const gh = useTestGatehouse({ EMAIL_VERIFICATION: 'required' });

  it('stops an unverified account at "check your inbox" (EMAIL_VERIFICATION=required), like any sign-in', async () => {
    const user = { email: 'unverified@example.test', password: 'an unverified passphrase' };
    await gh.services.accounts.registerAccount(user);
    const ua = createUserAgent();
    const page = await followToPage(ua, await ua.get(`${gh.issuer}/account`), `${gh.issuer}/account`, user);
    expect(page.body).toContain(t.verifyPending.title);
    expect(page.url.pathname).not.toBe('/account');
    expect(ua.jar.has('gatehouse.account')).toBe(false);
  });

  it('ends the page of a user who is disabled, and refuses their sign-in', async () => {
    const user = { email: 'disabled@example.test', password: 'a soon disabled passphrase' };
    const { id } = await gh.services.accounts.registerAccount(user);
    await gh.services.users.update({ id }, { emailVerified: true }, { via: 'cli' });
    const { ua } = await openAccountPage(gh, user);
    await gh.services.users.disable({ id }, { via: 'cli' });
    const after = await followToPage(ua, await ua.get(`${gh.issuer}/account`), `${gh.issuer}/account`, user);
    expect(after.res.status).toBe(403);
    expect(after.body).toContain(t.accountDisabled.title);
  });
});

describe('the account page without Redis (sessions in Postgres)', { timeout: 60_000 }, () => {
  const gh = useTestGatehouse({}, { useRedis: false });

  it('lists the browsers and signs one out', async () => {
    const user = { email: 'postgres@example.test', password: 'a postgres only passphrase' };
    const { id } = await gh.services.accounts.registerAccount(user);
    const laptop = await openAccountPage(gh, user);
    const phone = await openAccountPage(gh, user, createUserAgent(), { 'user-agent': ANDROID_CHROME });
    const page = await (await laptop.ua.get(`${gh.issuer}/account`)).text();
    const phoneHandle = /Chrome on Android<\/h3>[\s\S]*?name="session" value="([^"]+)"/.exec(page)![1]!;
    expect((await postAccountForm(gh, laptop.ua, '/account/sessions/end', laptop.csrf, { session: phoneHandle })).status).toBe(303);
    expect(await gh.services.accountAccess.sessions(id)).toHaveLength(1);
    const again = await followToPage(phone.ua, await phone.ua.get(`${gh.issuer}/account`), `${gh.issuer}/account`);
    expect(again.body).toContain('name="password"');
  });
});

describe('the account page beyond the argon2 queue', { timeout: 60_000 }, () => {
  // One argon2 computation at a time and one waiting; no throttle in the way.
  const gh = useTestGatehouse({
    ARGON2_CONCURRENCY: '1',
    ARGON2_MAX_QUEUED: '1',
    LOGIN_THROTTLE_FREE_ATTEMPTS: '1000',
    LOGIN_THROTTLE_BLOCK_AFTER: '1000',
  });

  it('checks the password asked again through the bounded hasher: what does not fit gets 503 and Retry-After, and nothing happens', async () => {
    const user = { email: 'busy@example.test', password: 'a busy day passphrase' };
    const { id } = await gh.services.accounts.registerAccount(user);
    const { ua, csrf } = await openAccountPage(gh, user);
    // Keep the hasher full while the posts are in flight: rounds of three checks for its one slot
    // and one queue place. Without this, how many posts meet a full hasher depends on how fast the
    // machine and the database get them there (on embedded PGlite, one at a time).
    let isFilling = true;
    const filling = (async () => {
      while (isFilling) await Promise.allSettled(Array.from({ length: 3 }, () => gh.services.accounts.authenticate('nobody@example.test', 'x')));
    })();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => postAccountForm(gh, ua, '/account/delete', csrf, { password: 'not the password at all' })),
    ).finally(async () => {
      isFilling = false;
      await filling;
    });
    const statuses = answers.map((a) => a.status);
    expect(
      statuses.every((s) => s === 400 || s === 503),
      statuses.join(' '),
    ).toBe(true);
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThanOrEqual(5);
    for (const res of busy) {
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.text()).toContain(t.errors.busyMessage);
    }
    expect(await gh.services.accounts.findById(id)).toBeDefined();
  });
});
