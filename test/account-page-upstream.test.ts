import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MESSAGES } from '../src/i18n/messages.ts';
import { accountCsrf } from './support/account-page.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { type OidcUpstream, startOidcUpstream } from './support/upstream-oidc.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const t = MESSAGES.en;
const SECRET = 'google-secret-do-not-log-account-page';

/**
 * The account page for someone who signs in through an upstream (no password): their links,
 * a first password, unlinking while another way in remains, and deletion after signing in again
 * upstream. Gatehouse on 127.0.0.1, the upstream (another oidc-provider) on 127.0.0.2.
 */
describe('the account page of an upstream sign-in', { timeout: 120_000 }, () => {
  let up: OidcUpstream;
  beforeAll(async () => {
    up = await startOidcUpstream();
  });
  afterAll(async () => {
    await up?.close();
  });
  const gh = useTestGatehouse(() => ({
    UPSTREAM_GOOGLE_CLIENT_ID: 'gatehouse-google',
    UPSTREAM_GOOGLE_CLIENT_SECRET: SECRET,
    UPSTREAM_GOOGLE_ISSUER: up.issuer,
  }));
  beforeAll(() => {
    up.start([{ client_id: 'gatehouse-google', client_secret: SECRET, redirect_uris: [`${gh.issuer}/upstream/google/callback`] }]);
  });

  /** From wherever `start` leads, through the sign-in page's Google button and the upstream, to a page of ours. */
  async function throughUpstream(ua: UserAgent, start: string) {
    const { res, url } = await ua.follow(await ua.get(start), start);
    const login = await res.text();
    expect(login).toContain(`action="${url.pathname}/upstream/google"`);
    const started = await ua.postForm(`${url.origin}${url.pathname}/upstream/google`, {});
    const done = await ua.follow(started, url.href);
    return { ...done, body: await done.res.text() };
  }
  const post = (ua: UserAgent, path: string, fields: Record<string, string>) => ua.postForm(`${gh.issuer}${path}`, fields);

  it('refuses to unlink the only way in; with a first password set, unlinks', async () => {
    up.users.set('sub-only', { email: 'upstream-only@example.test', email_verified: true, name: 'Only Upstream' });
    up.behaviour.subject = 'sub-only';
    const ua = createUserAgent();
    const first = await throughUpstream(ua, `${gh.issuer}/account`);
    expect(first.url.pathname).toBe('/account');
    expect(first.body).toContain(t.account.password.none);
    expect(first.body).toContain(t.account.identities.lastWayIn);
    expect(first.body).not.toContain('action="/account/identities/unlink"');
    const account = (await gh.services.accounts.findByEmail('upstream-only@example.test'))!;
    const csrf = accountCsrf(first.body)!;

    // The last way in stays, whatever is posted.
    const refused = await post(ua, '/account/identities/unlink', { csrf, upstream: 'google', subject: 'sub-only' });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain(t.account.identities.lastWayIn);
    expect(await gh.knex('upstream_identities').where({ account_id: account.id })).toHaveLength(1);

    // A first password (no current one to give): now the link may go.
    const set = await post(ua, '/account/password', { csrf, password: 'my first gatehouse passphrase' });
    expect(set.headers.get('location')).toBe('/account?done=password_set#password');
    expect(await gh.services.accounts.authenticate('upstream-only@example.test', 'my first gatehouse passphrase')).toMatchObject({ id: account.id });
    const unlinked = await post(ua, '/account/identities/unlink', { csrf, upstream: 'google', subject: 'sub-only' });
    expect(unlinked.headers.get('location')).toBe('/account?done=identity_unlinked#identities');
    expect(await gh.knex('upstream_identities').where({ account_id: account.id })).toHaveLength(0);
  });

  it('deletes an account without a password after signing in again upstream (a recent sign-in)', async () => {
    up.users.set('sub-leaving', { email: 'leaving@example.test', email_verified: true });
    up.behaviour.subject = 'sub-leaving';
    const ua = createUserAgent();
    const first = await throughUpstream(ua, `${gh.issuer}/account`);
    const account = (await gh.services.accounts.findByEmail('leaving@example.test'))!;
    // No password to give: the form is the button alone.
    expect(first.body).toMatch(/action="\/account\/delete">\s*<input type="hidden" name="csrf" value="[^"]+">\s*<button class="danger/);
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    try {
      vi.setSystemTime(Date.now() + 11 * 60_000);
      const stale = await post(ua, '/account/delete', { csrf: accountCsrf(first.body)! });
      expect(stale.status).toBe(403);
      expect(await gh.services.accounts.findById(account.id)).toBeDefined();
      // "Confirm it is you": the sign-in page again (prompt=login), through the upstream.
      const again = await throughUpstream(ua, `${gh.issuer}/account/sign-in?reauth=1&section=delete`);
      expect(again.url.pathname).toBe('/account');
      const deleted = await post(ua, '/account/delete', { csrf: accountCsrf(again.body)! });
      expect(deleted.status).toBe(200);
      expect(await gh.services.accounts.findById(account.id)).toBeUndefined();
      expect(await gh.knex('upstream_identities').where({ account_id: account.id })).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
