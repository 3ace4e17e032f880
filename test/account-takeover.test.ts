import * as oauth from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { type Answer, walkPages } from './support/page-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { RP_REDIRECT, registerRelyingParty, upstreamFlow } from './support/upstream-flow.ts';
import { type NaverUpstream, startNaverUpstream } from './support/upstream-naver.ts';
import { type OidcUpstream, startOidcUpstream } from './support/upstream-oidc.ts';
import { createUserAgent } from './support/user-agent.ts';

const NAVER = { clientId: 'gatehouse-naver', clientSecret: 'naver-secret-takeover-3c1d' };
const GOOGLE_SECRET = 'google-secret-takeover-9ab2';
const t = MESSAGES.en;

/**
 * Pre-account takeover (hardening item 1): someone who does not own an address signs in with it
 * first — at an upstream that does not vouch for it (Naver never does), or with a password
 * (nobody verifies a password sign-up's address) — and waits for the owner to arrive. Rule: an
 * address nobody has proven never owns an account, so the owner is never linked into the
 * squatter's account, never refused, and the squatter never reaches the owner's account.
 */
describe('pre-account takeover through an unproven email address', { timeout: 60_000 }, () => {
  let naver: NaverUpstream;
  let google: OidcUpstream;
  let rp: oauth.Configuration;
  let naverFlow: ReturnType<typeof upstreamFlow>;
  let googleFlow: ReturnType<typeof upstreamFlow>;

  beforeAll(async () => {
    naver = await startNaverUpstream(NAVER);
    google = await startOidcUpstream();
  });
  afterAll(async () => {
    await naver?.close();
    await google?.close();
  });
  const gh = useTestGatehouse(() => ({
    ...naver.env,
    UPSTREAM_GOOGLE_CLIENT_ID: 'gatehouse-google',
    UPSTREAM_GOOGLE_CLIENT_SECRET: GOOGLE_SECRET,
    UPSTREAM_GOOGLE_ISSUER: google.issuer,
  }));
  beforeAll(async () => {
    google.start([{ client_id: 'gatehouse-google', client_secret: GOOGLE_SECRET, redirect_uris: [`${gh.issuer}/upstream/google/callback`] }]);
    rp = await registerRelyingParty(gh);
    naverFlow = upstreamFlow(gh, rp, naver.origin);
    googleFlow = upstreamFlow(gh, rp, google.issuer);
  });
  beforeEach(() => {
    for (const key of Object.keys(naver.behaviour)) delete (naver.behaviour as Record<string, unknown>)[key];
  });

  /** A sign-in at Naver as `id` claiming `email`: the application's subject and userinfo. */
  async function viaNaver(id: string, email: string) {
    naver.behaviour.user = { id, email };
    const { ua, verifier, upstreamAuthorization } = await naverFlow.begin('naver');
    return naverFlow.completeWithUserInfo(ua, await naverFlow.atUpstream(ua, upstreamAuthorization), verifier);
  }
  /** A sign-in at Google as `subject`, which says `email` is verified. */
  async function viaGoogle(subject: string, email: string) {
    google.users.set(subject, { email, email_verified: true });
    google.behaviour.subject = subject;
    const { ua, verifier, upstreamAuthorization } = await googleFlow.begin('google');
    return googleFlow.completeWithUserInfo(ua, await googleFlow.atUpstream(ua, upstreamAuthorization), verifier);
  }
  /** The login page answered with the password form (`login`) or the sign-up form (`signup`). */
  async function viaPassword(form: 'login' | 'signup', email: string, password: string) {
    const flow = await startCodeFlow(rp, { redirect_uri: RP_REDIRECT, scope: 'openid email profile' });
    let refusal: { status: number; body: string } | undefined;
    const answer = (p: { kind: string; status: number; body: string }): Answer => {
      if (p.kind === 'login' && !refusal && p.status === 200) return { post: form, fields: { email, password } };
      refusal = { status: p.status, body: p.body };
      return 'stop';
    };
    const { callback } = await walkPages(createUserAgent(), flow.url, RP_REDIRECT, answer);
    if (!callback) return { refusal: refusal! };
    const tokens = await flow.redeem(callback);
    const sub = tokens.claims()!.sub;
    return { sub, userInfo: await oauth.fetchUserInfo(rp, tokens.access_token, sub) };
  }

  it('Naver first, then the owner with a verified upstream: the owner gets an account of their own', async () => {
    const email = 'victim1@example.test';
    const squatter = await viaNaver('naver-attacker-1', email);
    expect(squatter.userInfo).toMatchObject({ email, email_verified: false }); // kept unverified

    const owner = await viaGoogle('google-owner-1', email);
    expect(owner.sub).not.toBe(squatter.sub); // not linked into the squatter's account
    expect(owner.userInfo).toMatchObject({ email, email_verified: true });

    // The squatter's Naver sign-in still reaches only its own account, which no longer claims the address.
    const again = await viaNaver('naver-attacker-1', email);
    expect(again.sub).toBe(squatter.sub);
    expect(again.userInfo.email).toBeUndefined();
    expect(await gh.knex('upstream_identities').where({ account_id: owner.sub }).select('upstream_id')).toEqual([{ upstream_id: 'google' }]);
    // And the owner comes back to the same account.
    expect((await viaGoogle('google-owner-1', email)).sub).toBe(owner.sub);
  });

  it('Naver first, then the owner signs up with a password: the sign-up succeeds, and the squatter cannot reach it', async () => {
    const email = 'victim2@example.test';
    const squatter = await viaNaver('naver-attacker-2', email);
    const owner = await viaPassword('signup', email, 'the owner passphrase 2');
    expect(owner.refusal).toBeUndefined();
    expect(owner.sub).not.toBe(squatter.sub);
    expect(owner.userInfo).toMatchObject({ email, email_verified: false }); // nobody has proven it yet
    expect((await viaPassword('login', email, 'the owner passphrase 2')).sub).toBe(owner.sub);
    expect((await viaNaver('naver-attacker-2', email)).sub).toBe(squatter.sub);
  });

  it('a password sign-up first, then the owner with a verified upstream: not linked; the unproven holder loses the address', async () => {
    const email = 'victim3@example.test';
    const password = 'the squatter passphrase 3';
    const squatter = await viaPassword('signup', email, password);
    expect(squatter.userInfo).toMatchObject({ email, email_verified: false });

    const owner = await viaGoogle('google-owner-3', email);
    expect(owner.sub).not.toBe(squatter.sub);
    expect(owner.userInfo).toMatchObject({ email, email_verified: true });
    // The squatter's password no longer signs in with the address (the same refusal as an unknown email)…
    const login = await viaPassword('login', email, password);
    expect(login.refusal?.status).toBe(401);
    expect(login.refusal?.body).toContain(t.login.failed);
    // …and nobody can take the proven address with a new password account.
    const signup = await viaPassword('signup', email, 'another passphrase 3');
    expect(signup.refusal?.status).toBe(400);
    expect(signup.refusal?.body).toContain(t.signup.problems.conflict);
    expect((await viaGoogle('google-owner-3', email)).sub).toBe(owner.sub);
  });

  it('a verified upstream first, then Naver with the same address: refused with a page, never linked', async () => {
    const email = 'victim4@example.test';
    const owner = await viaGoogle('google-owner-4', email);
    naver.behaviour.user = { id: 'naver-attacker-4', email };
    const { ua, upstreamAuthorization } = await naverFlow.begin('naver');
    const res = await ua.get((await naverFlow.atUpstream(ua, upstreamAuthorization)).href);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain(t.upstream.emailInUseTitle);
    expect(await gh.knex('upstream_identities').where({ upstream_id: 'naver', subject: 'naver-attacker-4' })).toEqual([]);
    expect(await gh.knex('upstream_identities').where({ account_id: owner.sub }).select('upstream_id')).toEqual([{ upstream_id: 'google' }]);
  });

  it('links a second verified upstream to the account whose address an upstream proved', async () => {
    const email = 'owner5@example.test';
    const first = await viaGoogle('google-owner-5', email);
    expect(first.userInfo).toMatchObject({ email, email_verified: true }); // proven by the upstream
    // A second identity at the same provider (a second Google account with the same verified address).
    const second = await viaGoogle('google-owner-5-alias', email);
    expect(second.sub).toBe(first.sub);
  });
});
