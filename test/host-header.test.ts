import { connect } from 'node:net';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RawResponse, rawRequest } from './support/raw-http.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'host@example.test', password: 'a long and correct passphrase' };
const EVIL = 'evil.example';

/**
 * A client that lies about the host: every request carries a foreign Host (and, for an instance
 * that trusts a proxy, foreign X-Forwarded-Host/-Proto). Cookies are kept by name, as the
 * browser on the real origin would. Every URL Gatehouse writes must still come from ISSUER.
 */
function foreignHostAgent(gh: TestGatehouse, headers: Record<string, string>) {
  const jar = new Map<string, string>();
  const seen: string[] = [];
  const send = async (method: string, url: string, body?: string): Promise<RawResponse> => {
    const target = new URL(url, gh.issuer);
    const res = await rawRequest(gh.issuer, {
      method,
      path: target.pathname + target.search,
      body,
      headers: {
        ...headers,
        accept: 'text/html',
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
      },
    });
    const setCookies = res.headers['set-cookie'] ?? [];
    for (const header of Array.isArray(setCookies) ? setCookies : [setCookies]) {
      const [pair] = header.split(';');
      const eq = pair!.indexOf('=');
      const value = pair!.slice(eq + 1);
      if (value) jar.set(pair!.slice(0, eq), value);
      else jar.delete(pair!.slice(0, eq));
    }
    seen.push(`${res.headers.location ?? ''}\n${res.text}`);
    return res;
  };
  return { send, seen };
}

/** Every absolute URL in a JSON document (discovery's endpoints), the issuer itself left out. */
const urlsIn = (doc: Record<string, unknown>) =>
  Object.entries(doc)
    .filter(([key, v]) => key !== 'issuer' && typeof v === 'string' && /^https?:\/\//.test(v))
    .map(([, v]) => v as string);

/** One request with a raw request line (absolute-form targets, several Host lines, no Host). */
function rawLines(origin: string, head: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}

describe('Host header', () => {
  const gh = useTestGatehouse();
  const proxied = useTestGatehouse({ TRUST_PROXY: '1' });
  let clientId: string;

  beforeAll(async () => {
    await gh.services.accounts.registerAccount(user);
    await proxied.services.accounts.registerAccount(user);
    const { client } = await gh.services.clients.registerClient({
      name: 'Host App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid email',
      tokenEndpointAuthMethod: 'none',
    });
    clientId = client.client_id;
  });

  it('builds every discovery URL from ISSUER, whatever the Host header says', async () => {
    const res = await rawRequest(gh.issuer, { path: '/.well-known/openid-configuration', headers: { host: EVIL } });
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.text) as Record<string, unknown>;
    expect(doc.jwks_uri).toBe(`${gh.issuer}/jwks`);
    expect(urlsIn(doc).length).toBeGreaterThan(5);
    for (const url of urlsIn(doc)) expect(url.startsWith(`${gh.issuer}/`), url).toBe(true);
    expect(res.text).not.toContain(EVIL);
  });

  it('builds every discovery URL from ISSUER behind a trusted proxy that forwards a foreign host and proto', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const res = await rawRequest(proxied.issuer, {
        path,
        headers: { host: EVIL, 'x-forwarded-host': `${EVIL}:8443`, 'x-forwarded-proto': 'https' },
      });
      expect(res.status).toBe(200);
      for (const url of urlsIn(JSON.parse(res.text) as Record<string, unknown>)) expect(url.startsWith(`${proxied.issuer}/`), url).toBe(true);
      expect(res.text).not.toContain(EVIL);
    }
  });

  it('builds an absolute-form request target from ISSUER too (RFC 9112 §3.2.2)', async () => {
    const res = await rawLines(gh.issuer, `GET http://${EVIL}/.well-known/openid-configuration HTTP/1.1\r\nHost: ${EVIL}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`"jwks_uri":"${gh.issuer}/jwks"`);
    expect(res.text).not.toContain(EVIL);
  });

  it('posts the /session/end form to ISSUER and names only the issuer host on the page', async () => {
    for (const [instance, headers] of [
      [gh, { host: EVIL }],
      [proxied, { host: EVIL, 'x-forwarded-host': EVIL, 'x-forwarded-proto': 'https' }],
    ] as const) {
      const res = await rawRequest(instance.issuer, { path: '/session/end', headers: { ...headers, accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(res.text).toContain(`action="${instance.issuer}/session/end/confirm"`);
      expect(res.text).not.toContain(EVIL);
    }
  });

  it.each([
    ['a foreign Host', () => gh, { host: EVIL }],
    ['a foreign forwarded host and proto behind a trusted proxy', () => proxied, { host: EVIL, 'x-forwarded-host': EVIL, 'x-forwarded-proto': 'https' }],
  ])('sends a sign-in with %s only to ISSUER URLs, from /auth to the client', async (_name, instance, headers) => {
    const target = instance();
    const { client } = await target.services.clients.registerClient({
      name: 'Host App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid email',
      tokenEndpointAuthMethod: 'none',
    });
    const ua = foreignHostAgent(target, headers);
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      state: 'st',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    let res = await ua.send('GET', `/auth?${params}`);
    expect(res.status).toBe(303);
    const interaction = new URL(res.headers.location as string, target.issuer);
    expect(interaction.origin).toBe(target.issuer);

    res = await ua.send('GET', interaction.href);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`action="${interaction.pathname}/login"`);

    const csrf = /name="csrf" value="([^"]+)"/.exec(res.text)![1]!; // the form's own CSRF token, as a browser posts it
    res = await ua.send('POST', `${interaction.pathname}/login`, new URLSearchParams({ ...user, csrf }).toString());
    expect(res.status).toBe(303);
    // Back to the authorization endpoint: oidc-provider's resume URL, absolute.
    expect(res.headers.location).toMatch(new RegExp(`^${target.issuer}/auth/`));

    // Resume, then consent, then resume again, then the client's redirect_uri.
    for (let hops = 0; hops < 6 && !String(res.headers.location).startsWith(REDIRECT_URI); hops += 1) {
      const next = new URL(res.headers.location as string, target.issuer);
      expect(next.origin).toBe(target.issuer);
      res = await ua.send('GET', next.href);
      if (res.status === 200 && res.text.includes('/confirm"')) {
        res = await ua.send('POST', `${next.pathname}/confirm`, new URLSearchParams({ csrf: /name="csrf" value="([^"]+)"/.exec(res.text)![1]! }).toString());
      }
    }
    expect(String(res.headers.location)).toMatch(new RegExp(`^${REDIRECT_URI}\\?code=`));
    for (const answer of ua.seen) expect(answer).not.toContain(EVIL);
  });

  it.each([
    ['a space in it', 'a b'],
    ['an unclosed IPv6 literal', '[::1'],
    ['8 KB of letters', 'a'.repeat(8 * 1024)],
    ['a path', `${EVIL}/x`],
    ['userinfo', `user@${EVIL}`],
    ['a port that is not a number', `${EVIL}:http`],
    ['a port past 65535', `${EVIL}:70000`],
    ['control characters', 'a\u0001b'],
  ])('answers a Host header with %s with 400, and logs no stack trace', async (_name, host) => {
    for (const path of ['/.well-known/openid-configuration', `/auth?client_id=${clientId}`, '/session/end', '/interaction/x', '/healthz', '/token']) {
      const before = gh.logs().length;
      const res = await rawLines(gh.issuer, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/html`);
      expect(res.status, `${path}: ${res.text.slice(0, 300)}`).toBe(400);
      expect(res.text).not.toMatch(/\bat \S+ \(|node_modules/);
      const logged = gh.rawLogs().split('\n').slice(before).join('\n');
      expect(logged).not.toMatch(/"stack"|\bat \S+ \(|"level":50/);
    }
  });

  it('answers several Host lines, or none, with 400 (RFC 9112 §3.2)', async () => {
    const twice = await rawLines(gh.issuer, `GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: ${EVIL}`);
    expect(twice.status).toBe(400);
    const none = await rawLines(gh.issuer, 'GET /.well-known/openid-configuration HTTP/1.1');
    expect(none.status).toBe(400);
  });

  it('still serves requests whose Host is the issuer, an IP literal or another name of this host', async () => {
    for (const host of [new URL(gh.issuer).host, '[::1]:3000', 'gatehouse.internal', 'GATEHOUSE.internal:80', 'gatehouse_app']) {
      const res = await rawRequest(gh.issuer, { path: '/.well-known/openid-configuration', headers: { host } });
      expect(res.status, host).toBe(200);
      expect((JSON.parse(res.text) as { issuer: string }).issuer).toBe(gh.issuer);
    }
  });
});
