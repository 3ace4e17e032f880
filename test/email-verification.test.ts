import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { authorize, hiddenToken, linkIn, loginInteraction, REDIRECT_URI, registerApp } from './support/account-lifecycle.ts';
import { startTestSmtp, type TestSmtp } from './support/smtp.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { registerRelyingParty, upstreamFlow } from './support/upstream-flow.ts';
import { type OidcUpstream, startOidcUpstream } from './support/upstream-oidc.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const t = MESSAGES.en;

/** Follows redirects from a response until a page (or the client's callback). */
const follow = (ua: UserAgent, res: Response, from: string) => ua.follow(res, from, (url) => url.href.startsWith(REDIRECT_URI));

/** Signs up on the pages of a fresh flow; where that leads (the pending page, or the callback). */
async function signUp(config: oauth.Configuration, fields: { email: string; password: string; name?: string }, ua = createUserAgent()) {
  const interaction = await loginInteraction(ua, config, { prompt: 'login', scope: 'openid email' });
  const res = await ua.postForm(`${interaction}/signup`, { name: '', ...fields });
  return { ua, interaction, ...(await follow(ua, res, `${interaction}/signup`)) };
}

/** The verification link's page (GET), then its button (POST). */
async function verifyWith(link: URL) {
  const ua = createUserAgent();
  const page = await ua.get(link.href);
  const body = await page.text();
  if (page.status !== 200) return { status: page.status, body };
  const res = await ua.postForm(`${link.origin}/account/verify-email`, { token: hiddenToken(body)! });
  return { status: res.status, body: await res.text() };
}

describe('email verification (EMAIL_VERIFICATION=optional, the default)', { timeout: 120_000 }, () => {
  let smtp: TestSmtp;
  let config: oauth.Configuration;

  beforeAll(async () => {
    smtp = await startTestSmtp();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  const gh = useTestGatehouse(() => ({ SMTP_URL: smtp.url }));
  beforeAll(async () => {
    config = await registerApp(gh);
  });

  async function userInfoAfterSignIn(user: { email: string; password: string }) {
    const ua = createUserAgent();
    const { url, redeem } = await authorize(config, { scope: 'openid email', prompt: 'login' });
    const interaction = await follow(ua, await ua.get(url.href), url.href);
    const res = await ua.postForm(`${interaction.url.href.replace(/\/$/, '')}/login`, user);
    const { url: callback } = await follow(ua, res, interaction.url.href);
    const tokens = await redeem(callback);
    return oauth.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
  }

  it('mails a link at sign-up; a GET only shows a button, the POST verifies, once; userinfo then says email_verified: true', async () => {
    const user = { email: 'ada@example.test', password: 'the passphrase of ada' };
    const signedUp = await signUp(config, user);
    expect(signedUp.url.href.startsWith(REDIRECT_URI)).toBe(true); // optional: the sign-in goes on
    const mail = await smtp.nextMessageFor(user.email);
    expect(mail.subject).toBe('Verify your email address (Gatehouse)');
    const link = linkIn(mail, '/account/verify-email');
    expect(link.origin).toBe(gh.issuer);
    expect(await userInfoAfterSignIn(user)).toMatchObject({ email: user.email, email_verified: false });

    // A mail scanner's GET uses nothing up.
    for (let i = 0; i < 2; i += 1) {
      const page = await createUserAgent().get(link.href);
      expect(page.status).toBe(200);
      const body = await page.text();
      expect(body).toContain(t.verifyEmail.confirm(user.email));
      expect(body).toContain('method="post" action="/account/verify-email"');
    }
    const done = await verifyWith(link);
    expect(done.status, done.body).toBe(200);
    expect(done.body).toContain(t.verifyEmail.done(user.email));
    expect(await userInfoAfterSignIn(user)).toMatchObject({ email: user.email, email_verified: true });
    // Single use.
    const again = await verifyWith(link);
    expect(again.status).toBe(400);
    expect(again.body).toContain(t.verifyEmail.invalid);
    expect((await gh.services.audit.list({ type: 'account.verified' })).length).toBe(1);
  });

  it('never verifies an address the account no longer has with a link sent to the old one', async () => {
    const account = await gh.services.accounts.registerAccount({ email: 'old@example.test', password: 'a passphrase for old' });
    await gh.services.verification.send(account, 'en');
    const link = linkIn(await smtp.nextMessageFor('old@example.test'), '/account/verify-email');
    await gh.services.users.update({ id: account.id }, { email: 'new@example.test' }, { via: 'cli' });
    expect((await verifyWith(link)).status).toBe(400);
    expect(await gh.services.accounts.findById(account.id)).toMatchObject({ email: 'new@example.test', emailVerified: false });
    // Changed back: the old link is still dead (an address change voids the links).
    await gh.services.users.update({ id: account.id }, { email: 'old@example.test' }, { via: 'cli' });
    expect((await verifyWith(link)).status).toBe(400);
  });

  it('refuses an expired link', async () => {
    const account = await gh.services.accounts.registerAccount({ email: 'late@example.test', password: 'a passphrase for late' });
    await gh.services.verification.send(account, 'en');
    const link = linkIn(await smtp.nextMessageFor('late@example.test'), '/account/verify-email');
    await gh
      .knex('one_time_tokens')
      .where({ account_id: account.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    expect((await verifyWith(link)).status).toBe(400);
    expect((await gh.services.accounts.findById(account.id))?.emailVerified).toBe(false);
  });

  it('gives the address to the prover: an account that had it unverified loses it', async () => {
    const squatter = await gh.services.accounts.createUnverifiedAccount({ email: 'owner@example.test' }); // an upstream that did not vouch
    const owner = await gh.services.accounts.registerAccount({ email: 'owner@example.test', password: 'the real owner passphrase' });
    await gh.services.verification.send(owner, 'ko');
    const mail = await smtp.nextMessageFor('owner@example.test');
    expect(mail.subject).toBe('이메일 주소를 확인해 주세요 (Gatehouse)');
    expect((await verifyWith(linkIn(mail, '/account/verify-email'))).status).toBe(200);
    expect(await gh.services.accounts.findById(owner.id)).toMatchObject({ email: 'owner@example.test', emailVerified: true });
    expect(await gh.services.accounts.findById(squatter.id)).toMatchObject({ email: null });
  });

  it('answers junk tokens with a page, never a 5xx', async () => {
    for (const token of ['', 'short', 'B'.repeat(43)]) {
      expect((await createUserAgent().get(`${gh.issuer}/account/verify-email?token=${token}`)).status).toBe(400);
      expect((await createUserAgent().postForm(`${gh.issuer}/account/verify-email`, { token })).status).toBe(400);
    }
  });
});

describe('EMAIL_VERIFICATION=required', { timeout: 120_000 }, () => {
  let smtp: TestSmtp;
  let config: oauth.Configuration;
  let google: OidcUpstream;
  const GOOGLE_SECRET = 'google-secret-verification-77';

  beforeAll(async () => {
    google = await startOidcUpstream();
    smtp = await startTestSmtp();
  });
  afterAll(async () => {
    await smtp?.stop();
    await google?.close();
  });
  const gh = useTestGatehouse(() => ({
    SMTP_URL: smtp.url,
    EMAIL_VERIFICATION: 'required',
    LOGIN_THROTTLE_FREE_ATTEMPTS: '2',
    LOGIN_THROTTLE_BLOCK_AFTER: '3',
    UPSTREAM_GOOGLE_CLIENT_ID: 'gatehouse-google',
    UPSTREAM_GOOGLE_CLIENT_SECRET: GOOGLE_SECRET,
    UPSTREAM_GOOGLE_ISSUER: google.issuer,
  }));
  beforeAll(async () => {
    config = await registerApp(gh);
    google.start([{ client_id: 'gatehouse-google', client_secret: GOOGLE_SECRET, redirect_uris: [`${gh.issuer}/upstream/google/callback`] }]);
  });

  it('stops a sign-up at "check your inbox" until the link is followed; Continue then completes the sign-in', async () => {
    const user = { email: 'wait@example.test', password: 'the passphrase that waits' };
    const ua = createUserAgent();
    const { url, redeem } = await authorize(config, { scope: 'openid email', prompt: 'login' });
    const login = await follow(ua, await ua.get(url.href), url.href);
    const interaction = login.url.href.replace(/\/$/, '');
    const pending = await ua.postForm(`${interaction}/signup`, user);
    expect(pending.status).toBe(200);
    const page = await pending.text();
    expect(page).toContain(t.verifyPending.title);
    expect(page).toContain(t.verifyPending.sentTo(user.email));
    expect(ua.jar.has('_session')).toBe(false); // no session: the interaction did not complete

    // Continue too early: the same page, saying so.
    const early = await ua.postForm(`${interaction}/verify-email/continue`, {});
    expect(early.status).toBe(403);
    expect(await early.text()).toContain(t.verifyPending.notYet);

    const first = linkIn(await smtp.nextMessageFor(user.email), '/account/verify-email');
    // A new link voids the first.
    const resent = await ua.postForm(`${interaction}/verify-email/resend`, {});
    expect(resent.status).toBe(200);
    expect(await resent.text()).toContain(t.verifyPending.resent(user.email));
    const second = linkIn(await smtp.nextMessageFor(user.email), '/account/verify-email');
    expect((await verifyWith(first)).status).toBe(400);
    expect((await verifyWith(second)).status).toBe(200);

    const done = await ua.postForm(`${interaction}/verify-email/continue`, {});
    const { url: callback } = await follow(ua, done, interaction);
    expect(callback.href.startsWith(REDIRECT_URI), callback.href).toBe(true);
    const tokens = await redeem(callback);
    expect(await oauth.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).toMatchObject({ email: user.email, email_verified: true });
  });

  it('stops a password sign-in of an unverified account: no code, no session, prompt=none still needs a sign-in', async () => {
    const user = { email: 'unverified@example.test', password: 'an unverified passphrase' };
    await gh.services.accounts.registerAccount(user);
    const ua = createUserAgent();
    const interaction = await loginInteraction(ua, config);
    const stopped = await ua.postForm(`${interaction}/login`, user);
    expect(stopped.status).toBe(200);
    expect(await stopped.text()).toContain(t.verifyPending.required);
    const { url } = await authorize(config, { prompt: 'none', scope: 'openid' });
    const silent = await ua.get(url.href);
    expect(new URL(silent.headers.get('location')!).searchParams.get('error')).toBe('login_required');
    // The wrong password still gets the usual answer (no hint that the account exists).
    const wrong = await ua.postForm(`${interaction}/login`, { ...user, password: 'not the passphrase' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain(t.login.failed);
  });

  it('throttles the resend button with 429 and Retry-After', async () => {
    const user = { email: 'resend@example.test', password: 'a passphrase to resend' };
    await gh.services.accounts.registerAccount(user);
    const ua = createUserAgent();
    const interaction = await loginInteraction(ua, config);
    expect((await ua.postForm(`${interaction}/login`, user)).status).toBe(200);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4 && !retryAfter; i += 1) {
      const res = await ua.postForm(`${interaction}/verify-email/resend`, {});
      statuses.push(res.status);
      retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.at(-1)).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Without the sealed pending cookie there is nothing to resend or continue.
    const stranger = createUserAgent();
    const other = await loginInteraction(stranger, config);
    expect((await stranger.postForm(`${other}/verify-email/resend`, {})).status).toBe(303);
  });

  it('lets an upstream that vouches for the address sign in, and stops one that does not until the link is followed', async () => {
    const rp = await registerRelyingParty(gh);
    const flow = upstreamFlow(gh, rp, google.issuer);
    google.users.set('vouched', { email: 'vouched@example.test', email_verified: true });
    google.behaviour.subject = 'vouched';
    const vouched = await flow.begin('google');
    const claims = await flow.complete(vouched.ua, await flow.atUpstream(vouched.ua, vouched.upstreamAuthorization), vouched.verifier);
    expect(claims.sub).toBeTruthy();

    google.users.set('unvouched', { email: 'unvouched@example.test', email_verified: false });
    google.behaviour.subject = 'unvouched';
    const ua = createUserAgent();
    const started = await flow.begin('google', ua);
    const callback = await flow.atUpstream(ua, started.upstreamAuthorization);
    const { res } = await ua.follow(await ua.get(callback.href), callback.href);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(t.verifyPending.title);
    // The new account got its link at once.
    const link = linkIn(await smtp.nextMessageFor('unvouched@example.test'), '/account/verify-email');
    expect((await verifyWith(link)).status).toBe(200);
    const interaction = started.loginPage.href.replace(/\/$/, '');
    const done = await ua.follow(await ua.postForm(`${interaction}/verify-email/continue`, {}), interaction, (u) => u.href.startsWith('http://127.0.0.1:9/'));
    expect(done.url.searchParams.get('code')).toBeTruthy();

    // Disabled by an operator: the upstream sign-in gets the "account disabled" page, no code.
    await gh.services.users.disable({ id: claims.sub }, { via: 'cli' });
    google.behaviour.subject = 'vouched';
    const refused = await flow.begin('google');
    const back = await flow.atUpstream(refused.ua, refused.upstreamAuthorization);
    const { res: page, url: at } = await refused.ua.follow(await refused.ua.get(back.href), back.href);
    expect(at.href.startsWith('http://127.0.0.1:9/')).toBe(false);
    expect(page.status).toBe(403);
    expect(await page.text()).toContain(t.accountDisabled.message);
  });
});
