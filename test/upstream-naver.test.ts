import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { registerRelyingParty, upstreamFlow } from './support/upstream-flow.ts';
import { type NaverUpstream, startNaverUpstream } from './support/upstream-naver.ts';

const NAVER = { clientId: 'gatehouse-naver', clientSecret: 'naver-secret-do-not-log-91ce07' };
const t = MESSAGES.en;

// Naver Login speaks OAuth 2.0 only: no ID token; who signed in comes from its profile API.
describe('upstream sign-in with Naver', { timeout: 60_000 }, () => {
  let naver: NaverUpstream;
  let flow: ReturnType<typeof upstreamFlow>;

  beforeAll(async () => {
    naver = await startNaverUpstream(NAVER);
  });
  afterAll(async () => {
    await naver?.close();
  });
  const gh = useTestGatehouse(() => naver.env);
  beforeAll(async () => {
    flow = upstreamFlow(gh, await registerRelyingParty(gh), naver.origin);
  });
  beforeEach(() => {
    for (const key of Object.keys(naver.behaviour)) delete (naver.behaviour as Record<string, unknown>)[key];
  });

  /** The page Gatehouse's callback answers with. */
  async function callbackPage() {
    const { ua, upstreamAuthorization } = await flow.begin('naver');
    const res = await ua.get((await flow.atUpstream(ua, upstreamAuthorization)).href);
    return { status: res.status, page: await res.text() };
  }

  it('sends state and PKCE, creates an account from the profile API, and reuses the identity next time', async () => {
    naver.behaviour.user = { id: 'naver-32742776', email: 'minsu@naver.example', name: '김민수', nickname: 'minsu' };
    const { ua, verifier, upstreamAuthorization } = await flow.begin('naver');
    expect(upstreamAuthorization.searchParams.get('redirect_uri')).toBe(`${gh.issuer}/upstream/naver/callback`);
    expect(upstreamAuthorization.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
    expect(upstreamAuthorization.searchParams.get('code_challenge_method')).toBe('S256');
    const first = await flow.complete(ua, await flow.atUpstream(ua, upstreamAuthorization), verifier);
    const account = await gh.services.accounts.findById(first.sub);
    // Naver does not vouch for the address: stored unverified, holding nothing (never found by email).
    expect(account).toMatchObject({ email: 'minsu@naver.example', emailVerified: false, name: '김민수' });
    expect(await gh.services.accounts.findByEmail('minsu@naver.example')).toBeUndefined();
    // Naver's token endpoint got the client's credentials and the state in the form.
    const tokenRequest = naver.tokenRequests.at(-1)!;
    expect(tokenRequest.get('client_secret')).toBe(NAVER.clientSecret);
    expect(tokenRequest.get('state')).toBe(upstreamAuthorization.searchParams.get('state'));

    naver.behaviour.user = { id: 'naver-32742776', email: 'minsu@naver.example' };
    expect((await flow.signIn('naver')).sub).toBe(account!.id);
    expect(await gh.knex('upstream_identities').where({ upstream_id: 'naver' }).select('subject', 'account_id')).toEqual([
      { subject: 'naver-32742776', account_id: account!.id },
    ]);
  });

  it('never links to an existing account: Naver does not say the email is verified', async () => {
    const existing = await gh.services.accounts.registerAccount({ email: 'existing@naver.example', password: 'an existing passphrase' });
    naver.behaviour.user = { id: 'naver-other', email: 'existing@naver.example' };
    const { status, page } = await callbackPage();
    expect(status).toBe(409);
    expect(page).toContain(t.upstream.emailInUseMessage('Naver'));
    expect(await gh.knex('upstream_identities').where({ account_id: existing.id })).toEqual([]);
  });

  it('shows a 400 page when the user cancels at Naver', async () => {
    naver.behaviour.deny = true;
    const { status, page } = await callbackPage();
    expect(status).toBe(400);
    expect(page).toContain(t.upstream.cancelledTitle);
  });

  it('refuses when the profile API fails, or no email is shared, with a 4xx page', async () => {
    naver.behaviour.user = { id: 'naver-broken', email: 'broken@naver.example' };
    naver.behaviour.profileFails = true;
    expect((await callbackPage()).status).toBe(400);
    naver.behaviour.profileFails = false;
    naver.behaviour.user = { id: 'naver-no-email', nickname: 'quiet' };
    const { status, page } = await callbackPage();
    expect(status).toBe(400);
    expect(page).toContain(t.upstream.noEmailTitle);
    expect(await gh.knex('upstream_identities').whereIn('subject', ['naver-broken', 'naver-no-email'])).toEqual([]);
  });

  it('refuses a tampered state and a code Naver does not know', async () => {
    naver.behaviour.user = { id: 'naver-tamper', email: 'tamper@naver.example' };
    const a = await flow.begin('naver');
    const callback = await flow.atUpstream(a.ua, a.upstreamAuthorization);
    callback.searchParams.set('state', 'not-the-state');
    expect((await a.ua.get(callback.href)).status).toBe(400);

    const b = await flow.begin('naver');
    const other = await flow.atUpstream(b.ua, b.upstreamAuthorization);
    other.searchParams.set('code', 'a-code-naver-never-issued');
    const res = await b.ua.get(other.href);
    expect(res.status).toBe(400); // Naver's error (with status 200) is still an error
    expect(await gh.services.accounts.findByEmail('tamper@naver.example')).toBeUndefined();
  });

  it('never logs the client secret, or the codes and tokens', async () => {
    naver.behaviour.user = { id: 'naver-logs', email: 'logs@naver.example' };
    await flow.signIn('naver');
    const logs = gh.rawLogs();
    expect(logs).toContain('/upstream/naver/callback');
    expect(logs).not.toContain(NAVER.clientSecret);
    for (const form of naver.tokenRequests) expect(logs).not.toContain(form.get('code'));
  });
});
