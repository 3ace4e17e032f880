import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { authorizationUrl } from './support/page-flow.ts';
import { type RawResponse, rawRequest } from './support/raw-http.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

async function registerApp(gh: TestGatehouse): Promise<oauth.Configuration> {
  const { client, clientSecret } = await gh.services.clients.registerClient({ name: 'Proxied App', redirectUris: [REDIRECT_URI], scope: 'openid' });
  return oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
    execute: [oauth.allowInsecureRequests],
  });
}

const cookiesOf = (res: RawResponse) => [res.headers['set-cookie'] ?? []].flat() as string[];

/**
 * A wrong password as a proxy in front would forward it: /auth, then the login post, each request
 * from `from` (the peer Gatehouse sees) with the forwarding headers that proxy wrote.
 */
async function failedSignIn(gh: TestGatehouse, config: oauth.Configuration, o: { from?: string; headers: Record<string, string>; email: string }) {
  const start = await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' });
  const auth = await rawRequest(gh.issuer, { path: start.pathname + start.search, headers: o.headers, localAddress: o.from });
  expect(auth.status).toBe(303);
  const interaction = new URL(String(auth.headers.location), gh.issuer).pathname;
  const cookie = cookiesOf(auth)
    .map((c) => c.split(';')[0])
    .join('; ');
  // The login page's CSRF token, which the browser posts with the form.
  const page = await rawRequest(gh.issuer, { path: interaction, headers: { ...o.headers, accept: 'text/html', cookie }, localAddress: o.from });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  const login = await rawRequest(gh.issuer, {
    method: 'POST',
    path: `${interaction}/login`,
    headers: {
      ...o.headers,
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
      cookie,
    },
    body: new URLSearchParams({ email: o.email, password: 'not the password', csrf }).toString(),
    localAddress: o.from,
  });
  return { auth, login };
}

/** The addresses the audit trail recorded for failed sign-ins of one email domain (written in the background). */
async function auditedAddresses(gh: TestGatehouse, domain: string, count: number): Promise<string[]> {
  let ips: string[] = [];
  await vi.waitFor(
    async () => {
      await gh.services.audit.flush();
      const events = await gh.services.audit.list({ type: 'sign_in.failed', limit: 1000 });
      ips = events.filter((e) => e.details?.email_domain === domain).map((e) => e.ip ?? '');
      expect(ips).toHaveLength(count);
    },
    { timeout: 5000, interval: 100 },
  );
  return ips;
}

describe('client address behind one trusted proxy hop (TRUST_PROXY=1)', () => {
  // Per IP (and per email): two failures, then a block; every attempt below uses a new email.
  const gh = useTestGatehouse({
    TRUST_PROXY: '1',
    LOGIN_THROTTLE_FREE_ATTEMPTS: '2',
    LOGIN_THROTTLE_BLOCK_AFTER: '2',
    LOGIN_THROTTLE_BLOCK_SECONDS: '60',
    LOGIN_THROTTLE_IP_FACTOR: '1',
  });
  let config: oauth.Configuration;

  beforeAll(async () => {
    config = await registerApp(gh);
  });

  it('takes the address the proxy appended: a rotating client-written X-Forwarded-For neither escapes the per-IP throttle nor reaches the audit trail', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      // What nginx's $proxy_add_x_forwarded_for sends: the client's own header, then the address it saw.
      const headers = { 'x-forwarded-for': `10.66.${i}.1, 198.51.100.7` };
      const { login } = await failedSignIn(gh, config, { headers, email: `spray${i}@rotating.test` });
      statuses.push(login.status);
    }
    expect(statuses).toEqual([401, 401, 429, 429, 429]);
    const ips = await auditedAddresses(gh, 'rotating.test', 2);
    expect(ips).toEqual(['198.51.100.7', '198.51.100.7']);
  });
});

describe('trusted proxies by address (TRUST_PROXY=127.0.0.2,10.0.0.0/8)', () => {
  const gh = useTestGatehouse({ TRUST_PROXY: '127.0.0.2,10.0.0.0/8' });
  let config: oauth.Configuration;

  beforeAll(async () => {
    config = await registerApp(gh);
  });

  it('ignores X-Forwarded-For and X-Forwarded-Proto from a peer that is not listed', async () => {
    const headers = { 'x-forwarded-for': '198.51.100.9', 'x-forwarded-proto': 'https' };
    const { auth, login } = await failedSignIn(gh, config, { from: '127.0.0.1', headers, email: 'someone@unlisted.test' });
    expect(login.status).toBe(401);
    expect(cookiesOf(auth).length).toBeGreaterThan(0);
    // (Cookies are Secure either way here: a loopback issuer is a secure context, session-cookies.ts.)
    expect(await auditedAddresses(gh, 'unlisted.test', 1)).toEqual(['127.0.0.1']);
  });

  it('honours a listed peer, and takes the right-most address that is not a listed proxy', async () => {
    // The client wrote 203.0.113.5; the edge proxy (10.1.2.3, listed) saw 198.51.100.9; 127.0.0.2 forwarded it.
    const headers = { 'x-forwarded-for': '203.0.113.5, 198.51.100.9, 10.1.2.3', 'x-forwarded-proto': 'https' };
    const { auth, login } = await failedSignIn(gh, config, { from: '127.0.0.2', headers, email: 'someone@listed.test' });
    expect(login.status).toBe(401);
    expect(cookiesOf(auth).length).toBeGreaterThan(0);
    for (const cookie of cookiesOf(auth)) expect(cookie).toMatch(/;\s*secure/i);
    expect(await auditedAddresses(gh, 'listed.test', 1)).toEqual(['198.51.100.9']);
  });
});
