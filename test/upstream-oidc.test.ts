import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { registerRelyingParty, upstreamFlow } from './support/upstream-flow.ts';
import { type OidcUpstream, startOidcUpstream } from './support/upstream-oidc.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const SECRETS = { google: 'google-secret-do-not-log-0f3a9c', kakao: 'kakao-secret-do-not-log-7b21e4', corp: 'corp-secret-do-not-log-55d0aa' };
const t = MESSAGES.en;

// Gatehouse signing people in through upstream OpenID Connect providers: Google and Kakao from the
// environment, a generic one added as the CLI does, all played by another oidc-provider.
describe('upstream sign-in with OpenID Connect', { timeout: 60_000 }, () => {
  let up: OidcUpstream;
  let flow: ReturnType<typeof upstreamFlow>;

  beforeAll(async () => {
    up = await startOidcUpstream();
  });
  afterAll(async () => {
    await up?.close();
  });
  const gh = useTestGatehouse(() => ({
    UPSTREAM_GOOGLE_CLIENT_ID: 'gatehouse-google',
    UPSTREAM_GOOGLE_CLIENT_SECRET: SECRETS.google,
    UPSTREAM_GOOGLE_ISSUER: up.issuer,
    UPSTREAM_KAKAO_CLIENT_ID: 'gatehouse-kakao',
    UPSTREAM_KAKAO_CLIENT_SECRET: SECRETS.kakao,
    UPSTREAM_KAKAO_ISSUER: up.issuer,
    UPSTREAM_KAKAO_SCOPES: 'openid email profile',
  }));
  beforeAll(async () => {
    await gh.services.upstreams.add({ id: 'corp', kind: 'oidc', name: 'Corp SSO', issuer: up.issuer, clientId: 'gatehouse-corp', clientSecret: SECRETS.corp });
    up.start(
      (['google', 'kakao', 'corp'] as const).map((id) => ({
        client_id: `gatehouse-${id}`,
        client_secret: SECRETS[id],
        redirect_uris: [`${gh.issuer}/upstream/${id}/callback`],
      })),
    );
    flow = upstreamFlow(gh, await registerRelyingParty(gh), up.issuer);
  });
  beforeEach(() => {
    for (const key of Object.keys(up.behaviour)) delete (up.behaviour as Record<string, unknown>)[key];
  });

  const begin = (id: string) => flow.begin(id);
  const atUpstream = (ua: UserAgent, authorization: URL) => flow.atUpstream(ua, authorization);
  const complete = (ua: UserAgent, callback: URL, verifier: string) => flow.complete(ua, callback, verifier);
  async function signInWith(upstreamId: string, subject: string) {
    up.behaviour.subject = subject;
    return flow.signIn(upstreamId);
  }

  const identities = (upstreamId: string, subject: string) => gh.knex('upstream_identities').where({ upstream_id: upstreamId, subject }).select('account_id');

  it('shows a button for each upstream on the login page', async () => {
    const { ua, loginPage } = await begin('google');
    const page = await (await ua.get(loginPage.href)).text();
    for (const name of ['Google', 'Kakao', 'Corp SSO']) expect(page).toContain(t.login.upstreamButton(name));
  });

  it.each(['google', 'kakao', 'corp'])('creates an account at the first sign-in with %s, then reuses its identity', async (id) => {
    const email = `first-${id}@example.test`;
    up.users.set(`sub-${id}`, { email, email_verified: true, name: `First ${id}` });
    const first = await signInWith(id, `sub-${id}`);
    const account = await gh.services.accounts.findByEmail(email);
    expect(account).toBeDefined();
    expect(first.sub).toBe(account!.id); // the application's ID token names the new account
    expect(account!.name).toBe(`First ${id}`);
    // No usable password: the password form refuses it whatever is typed.
    expect(await gh.services.accounts.authenticate(email, '')).toBeUndefined();
    expect(await gh.services.accounts.authenticate(email, 'anything at all 123')).toBeUndefined();

    const second = await signInWith(id, `sub-${id}`);
    expect(second.sub).toBe(account!.id);
    expect(await identities(id, `sub-${id}`)).toEqual([{ account_id: account!.id }]);
    const audit = await gh.services.audit.list({ type: 'upstream.account_created' });
    expect(audit.filter((e) => e.accountId === account!.id)).toHaveLength(1);
  });

  it('links a verified email to the account that holds it verified', async () => {
    up.users.set('sub-linked-google', { email: 'linked@example.test', email_verified: true });
    const first = await signInWith('google', 'sub-linked-google');
    up.users.set('sub-linked-corp', { email: 'Linked@Example.test', email_verified: true });
    const claims = await signInWith('corp', 'sub-linked-corp');
    expect(claims.sub).toBe(first.sub);
    expect(await identities('corp', 'sub-linked-corp')).toEqual([{ account_id: first.sub }]);
    expect(await gh.services.accounts.findById(first.sub)).toMatchObject({ email: 'linked@example.test', emailVerified: true });
    expect((await gh.services.audit.list({ type: 'upstream.identity_linked' })).map((e) => e.accountId)).toContain(first.sub);
  });

  it('does not link a verified email to a password account whose address nobody proved: the prover gets an account', async () => {
    const existing = await gh.services.accounts.registerAccount({ email: 'unproven@example.test', password: 'the existing passphrase' });
    up.users.set('sub-prover', { email: 'unproven@example.test', email_verified: true });
    const claims = await signInWith('google', 'sub-prover');
    expect(claims.sub).not.toBe(existing.id);
    expect(await gh.services.accounts.findByEmail('unproven@example.test')).toMatchObject({ id: claims.sub, emailVerified: true });
    // The unproven holder lost the address: no password sign-in with it, and the audit trail says so.
    expect(await gh.services.accounts.findById(existing.id)).toMatchObject({ email: null, emailVerified: false });
    expect(await gh.services.accounts.authenticate('unproven@example.test', 'the existing passphrase')).toBeUndefined();
    const released = await gh.services.audit.list({ type: 'account.email_released' });
    expect(released.find((e) => e.accountId === existing.id)?.details).toEqual({ to_account: claims.sub });
  });

  it('verifies an account’s address at its next sign-in through its own upstream that vouches for it', async () => {
    // As an account from before email_verified was recorded: linked, its address unverified.
    const old = await gh.services.accounts.createUnverifiedAccount({ email: 'earlier@example.test' });
    await gh.knex('upstream_identities').insert({ upstream_id: 'google', subject: 'sub-earlier', account_id: old.id });
    up.users.set('sub-earlier', { email: 'earlier@example.test', email_verified: true });
    expect((await signInWith('google', 'sub-earlier')).sub).toBe(old.id);
    expect(await gh.services.accounts.findById(old.id)).toMatchObject({ email: 'earlier@example.test', emailVerified: true });
  });

  it('does not link an unverified email to an existing account: a 409 page says to use the password', async () => {
    const existing = await gh.services.accounts.registerAccount({ email: 'victim@example.test', password: 'the victim passphrase' });
    for (const [subject, user] of [
      ['sub-unverified', { email: 'victim@example.test', email_verified: false }],
      ['sub-silent', { email: 'victim@example.test' }],
    ] as const) {
      up.users.set(subject, user);
      up.behaviour.subject = subject;
      const { ua, upstreamAuthorization, loginPage } = await begin('kakao');
      const res = await ua.get((await atUpstream(ua, upstreamAuthorization)).href);
      const page = await res.text();
      expect(res.status).toBe(409);
      expect(page).toContain(t.upstream.emailInUseTitle);
      expect(page).toContain(`href="${loginPage.pathname}"`); // back to the password form
      expect(await identities('kakao', subject)).toEqual([]);
    }
    expect((await gh.services.accounts.authenticate('victim@example.test', 'the victim passphrase'))?.id).toBe(existing.id);
  });

  it('refuses a callback whose state was changed, or that reaches another browser, with a 400 page', async () => {
    up.users.set('sub-state', { email: 'state@example.test', email_verified: true });
    up.behaviour.subject = 'sub-state';
    const a = await begin('google');
    const callback = await atUpstream(a.ua, a.upstreamAuthorization);
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')}x`);
    const res = await a.ua.get(tampered.href);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(t.upstream.expiredMessage);

    const b = await begin('google');
    const stolen = await atUpstream(b.ua, b.upstreamAuthorization);
    const elsewhere = await createUserAgent().get(stolen.href); // no transaction cookie: login CSRF
    expect(elsewhere.status).toBe(400);
    expect(await gh.services.accounts.findByEmail('state@example.test')).toBeUndefined();
  });

  it('refuses a replayed callback even with its transaction cookie', async () => {
    up.users.set('sub-replay', { email: 'replay@example.test', email_verified: true });
    up.behaviour.subject = 'sub-replay';
    const { ua, verifier, upstreamAuthorization } = await begin('corp');
    const callback = await atUpstream(ua, upstreamAuthorization);
    const cookie = ua.jar.cookie('gatehouse.upstream')!;
    expect(cookie.value).not.toContain(verifier); // sealed, not readable
    await complete(ua, callback, verifier);
    ua.jar.set(cookie);
    const replay = await ua.get(callback.href);
    expect(replay.status).toBe(400);
  });

  it.each([
    ['a nonce that does not match', 'nonce', /"nonce"/],
    ['a broken signature', 'signature', /signature verification failed/],
    ['another audience', 'aud', /"aud"/],
    ['another issuer', 'iss', /"iss"/],
    ['an expired token', 'exp', /"exp"/],
  ])('refuses an ID token with %s', async (_what, fault, reason) => {
    up.users.set('sub-token', { email: 'token@example.test', email_verified: true });
    up.behaviour.subject = 'sub-token';
    const { ua, upstreamAuthorization } = await begin('google');
    if (fault === 'nonce') upstreamAuthorization.searchParams.set('nonce', 'a-nonce-gatehouse-never-sent');
    if (fault === 'signature') up.behaviour.breakSignature = true;
    if (fault === 'aud') up.behaviour.tamperIdToken = (c) => ({ ...c, aud: 'someone-else' });
    if (fault === 'iss') up.behaviour.tamperIdToken = (c) => ({ ...c, iss: 'https://evil.example' });
    if (fault === 'exp') up.behaviour.tamperIdToken = (c) => ({ ...c, iat: 1_000_000, exp: 1_000_600 });
    const res = await ua.get((await atUpstream(ua, upstreamAuthorization)).href);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(t.upstream.failedMessage('Google'));
    expect(await gh.services.accounts.findByEmail('token@example.test')).toBeUndefined();
    // Refused for this very reason (openid-client's check underneath), not for another.
    const refusal = gh
      .logs()
      .filter((l) => l.msg === 'upstream token or profile check failed')
      .at(-1);
    expect(String(refusal?.reason)).toMatch(reason);
  });

  it('shows a 400 page when the user refuses at the upstream (access_denied), with a way back to sign in', async () => {
    up.behaviour.deny = true;
    const { ua, upstreamAuthorization, loginPage } = await begin('kakao');
    const callback = await atUpstream(ua, upstreamAuthorization);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const res = await ua.get(callback.href);
    const page = await res.text();
    expect(res.status).toBe(400);
    expect(page).toContain(t.upstream.cancelledMessage('Kakao'));
    const back = await ua.get(new URL(loginPage.pathname, gh.issuer).href);
    expect(back.status).toBe(200); // the sign-in goes on
  });

  it('answers 502 with a page when an upstream cannot be reached, and keeps the sign-in going', async () => {
    await gh.services.upstreams.add({ id: 'down', kind: 'oidc', name: 'Down SSO', issuer: 'http://127.0.0.2:9', clientId: 'x', clientSecret: 'y' });
    try {
      const { ua, loginPage } = await begin('google');
      const res = await ua.postForm(`${loginPage.href}/upstream/down`, {});
      const page = await res.text();
      expect(res.status).toBe(502);
      expect(page).toContain(t.upstream.unavailableMessage('Down SSO'));
      expect((await ua.get(loginPage.href)).status).toBe(200);
    } finally {
      await gh.services.upstreams.remove('down');
    }
  });

  it('answers an unknown upstream with 404', async () => {
    const { ua, loginPage } = await begin('google');
    expect((await ua.postForm(`${loginPage.href}/upstream/nope`, {})).status).toBe(404);
    expect((await ua.get(`${gh.issuer}/upstream/nope/callback?code=x&state=y`)).status).toBe(404);
  });

  it('never logs client secrets, and stores them sealed, not in plain text', async () => {
    const [row] = await gh.knex('upstreams').where({ id: 'corp' });
    expect(JSON.stringify(row)).not.toContain(SECRETS.corp);
    expect((await gh.services.upstreams.find('corp'))?.clientSecret).toBe(SECRETS.corp);
    expect(JSON.stringify(await gh.services.upstreams.listSummaries())).not.toMatch(/secret/i);
    const logs = gh.rawLogs();
    expect(logs).toContain('upstream'); // the refusals above were logged…
    for (const secret of Object.values(SECRETS)) expect(logs).not.toContain(secret); // …without any secret
  });
});
