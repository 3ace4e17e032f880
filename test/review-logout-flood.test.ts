import { createHash } from 'node:crypto';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from './support/raw-http.ts';
import { signIn } from './support/sign-in.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'logout-flood@example.test', password: 'a long and correct passphrase' };
const DAY = 86_400;

/** Seconds the stored session (Redis TTL, or Postgres expires_at) has left, by its cookie value. */
async function sessionLife(gh: TestGatehouse, sessionId: string): Promise<number | undefined> {
  const digest = createHash('sha256').update(sessionId).digest('hex');
  if (gh.redis) {
    const ttl = await gh.redis.ttl(`Session:${digest}`);
    return ttl < 0 ? undefined : ttl;
  }
  const row = await gh.knex('oidc_payloads').where({ model: 'Session', id: digest }).first('expires_at');
  return row ? (new Date(row.expires_at).getTime() - Date.now()) / 1000 : undefined;
}

const sessionCookie = (setCookie: string | string[] | undefined) =>
  [setCookie ?? []]
    .flat()
    .map((c) => /^_session=([^;]+)/.exec(c)?.[1])
    .find(Boolean);

/**
 * Issue 10 item 6 on another unauthenticated endpoint: anyone's GET /session/end (the logout
 * confirmation) stores a Session for its xsrf secret. With a 14-day life, one address could fill
 * Redis (or oidc_payloads) at will: it must live no longer than an interaction that never reached a
 * sign-in, while a signed-in user's session keeps its 14 days.
 */
describe.each([
  ['Redis', true],
  ['Postgres only', false],
])('an unauthenticated logout page (%s)', (_name, useRedis) => {
  const gh = useTestGatehouse({}, { useRedis });
  let clientId: string;

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    clientId = (await gh.services.clients.registerClient({ name: 'Web', redirectUris: [REDIRECT_URI], scope: 'openid' })).client.client_id;
  });

  it('stores its session for minutes, not the 14 days of a signed-in session', async () => {
    const res = await rawRequest(gh.issuer, { path: '/session/end', headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const id = sessionCookie(res.headers['set-cookie']);
    expect(id).toBeTruthy();
    const life = await sessionLife(gh, id!);
    expect(life).toBeDefined();
    expect(life!).toBeLessThanOrEqual(600);
  });

  it('still gives a signed-in session its 14 days, and the signed-in user can sign out', async () => {
    const config = await oauth.discovery(new URL(gh.issuer), clientId, undefined, oauth.ClientSecretBasic('unused'), {
      execute: [oauth.allowInsecureRequests],
    });
    const ua = createUserAgent();
    // The logout page first (a session without an account), then a sign-in in the same browser.
    await ua.get(`${gh.issuer}/session/end`);
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    expect((await signIn(ua, url, user, REDIRECT_URI)).searchParams.get('code')).toBeTruthy();
    const life = await sessionLife(gh, ua.jar.get('_session')!);
    expect(life!).toBeGreaterThan(13 * DAY);

    const page = await (await ua.get(`${gh.issuer}/session/end`)).text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
    expect(xsrf).toBeTruthy();
    const done = await ua.postForm(`${gh.issuer}/session/end/confirm`, { xsrf: xsrf!, logout: 'yes' });
    expect(done.status).toBeLessThan(400);
    expect(await sessionLife(gh, ua.jar.get('_session') ?? 'none')).toBeUndefined();
  });
});

// The same flood bounded in rate as well as in life: /session/end counts against the address's
// authorization-request budget (AUTHORIZATION_RATE_LIMIT_PER_MINUTE).
describe('a flood of logout pages from one address', () => {
  const gh = useTestGatehouse({ AUTHORIZATION_RATE_LIMIT_PER_MINUTE: '3' });

  it('is refused with 429 and Retry-After past the per-address budget, and stores no session then', async () => {
    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push(await rawRequest(gh.issuer, { path: '/session/end', headers: { accept: 'text/html' } }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    expect(Number(answers[3]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(answers.slice(3).map((a) => sessionCookie(a.headers['set-cookie']))).toEqual([undefined, undefined]);
  });
});
