import { Agent } from 'node:http';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { type RawRequest, type RawResponse, rawRequest } from './support/raw-http.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'grace@example.test', password: 'a long and correct passphrase' };
const SQL = "' OR 1=1 --";
const FORM = 'application/x-www-form-urlencoded';

/** What a case may use: a real client, its Basic header and a live sign-in interaction. */
type Ctx = { clientId: string; basic: string; uid: string; cookie: string; csrf: string };
type Case = [name: string, request: (c: Ctx) => RawRequest, status: number, error?: string];

const post = (path: string, body: RawRequest['body'], headers: Record<string, string> = {}): RawRequest => ({
  method: 'POST',
  path,
  body,
  // An empty value means "send no such header".
  headers: Object.fromEntries(Object.entries({ 'content-type': FORM, ...headers }).filter(([, v]) => v !== '')),
});
const token = (body: RawRequest['body'], headers: Record<string, string> = {}) => post('/token', body, headers);
const cc = 'grant_type=client_credentials';
const basicOf = (raw: string) => `Basic ${Buffer.from(raw, 'latin1').toString('base64')}`;
const auth = (c: Ctx, params: Record<string, string> = {}, extra = '') =>
  `/auth?${new URLSearchParams({ response_type: 'code', client_id: c.clientId, redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', ...params })}${extra}`;
// The login form's own CSRF token comes first, as a browser would send it; the bad part follows.
const login = (c: Ctx, body: RawRequest['body'], headers: Record<string, string> = {}) =>
  post(`/interaction/${c.uid}/login`, typeof body === 'string' && !headers['content-type'] ? `csrf=${c.csrf}&${body}` : body, {
    cookie: c.cookie,
    accept: 'text/html',
    ...headers,
  });

// RFC 6749 §5.2 error JSON from the token, introspection and revocation endpoints.
const jsonCases: Case[] = [
  ['a 60 KiB token request (over the 56 KiB cap)', (c) => token(`${cc}&x=${'a'.repeat(60 * 1024)}`, { authorization: c.basic }), 400, 'invalid_request'],
  ['a 1 MiB token request', (c) => token(`${cc}&x=${'a'.repeat(1024 * 1024)}`, { authorization: c.basic }), 400, 'invalid_request'],
  [
    'a 1 MiB chunked token request with no Content-Length',
    (c) => token([Buffer.from(`${cc}&x=`), ...Array.from({ length: 64 }, () => Buffer.alloc(16 * 1024, 'a'))], { authorization: c.basic }),
    400,
    'invalid_request',
  ],
  ['%zz as the grant_type', (c) => token('grant_type=%zz', { authorization: c.basic }), 400, 'unsupported_grant_type'],
  ['%zz as the client_id', () => token(`${cc}&client_id=%zz&client_secret=x`), 401, 'invalid_client'],
  [
    'invalid UTF-8 bytes in client_id',
    () => token(Buffer.concat([Buffer.from(`${cc}&client_secret=x&client_id=`), Buffer.from([0xff, 0xfe, 0xc3])])),
    401,
    'invalid_client',
  ],
  ['a NUL byte in client_id', () => token(`${cc}&client_id=%00&client_secret=x`), 401, 'invalid_client'],
  ['SQL metacharacters in client_id', () => token(`${cc}&client_id=${encodeURIComponent(SQL)}&client_secret=x`), 401, 'invalid_client'],
  [
    'a NUL byte in an authorization code',
    (c) =>
      token(`grant_type=authorization_code&code=a%00b&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${'v'.repeat(43)}`, {
        authorization: c.basic,
      }),
    400,
    'invalid_grant',
  ],
  ['a NUL byte in a refresh token', (c) => token('grant_type=refresh_token&refresh_token=a%00b', { authorization: c.basic }), 400, 'invalid_grant'],
  ['grant_type given twice', (c) => token(`${cc}&${cc}`, { authorization: c.basic }), 400, 'invalid_request'],
  [
    'a JSON token request',
    (c) => token(JSON.stringify({ grant_type: 'client_credentials' }), { authorization: c.basic, 'content-type': 'application/json' }),
    400,
    'invalid_request',
  ],
  ['a text/plain token request', (c) => token(cc, { authorization: c.basic, 'content-type': 'text/plain' }), 400, 'invalid_request'],
  [
    'a multipart token request',
    (c) =>
      token(`--x\r\ncontent-disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n`, {
        authorization: c.basic,
        'content-type': 'multipart/form-data; boundary=x',
      }),
    400,
    'invalid_request',
  ],
  ['a token request with no content type', (c) => token(cc, { authorization: c.basic, 'content-type': '' }), 400, 'invalid_request'],
  ['Basic !!!', () => token(cc, { authorization: 'Basic !!!' }), 400, 'invalid_request'],
  ['Basic credentials that are not base64', () => token(cc, { authorization: 'Basic ~~ not base64 ~~' }), 400, 'invalid_request'],
  ['Basic credentials without a colon', (c) => token(cc, { authorization: basicOf(c.clientId) }), 400, 'invalid_request'],
  ['Basic credentials with NUL bytes', () => token(cc, { authorization: basicOf('\0:\0') }), 400, 'invalid_request'],
  ['a 60 KiB introspection request', (c) => post('/token/introspection', `token=${'a'.repeat(60 * 1024)}`, { authorization: c.basic }), 400, 'invalid_request'],
  ['token given twice to introspection', (c) => post('/token/introspection', 'token=a&token=b', { authorization: c.basic }), 400, 'invalid_request'],
  [
    'a JSON introspection request',
    (c) => post('/token/introspection', '{"token":"a"}', { authorization: c.basic, 'content-type': 'application/json' }),
    400,
    'invalid_request',
  ],
  ['a NUL byte in client_id at introspection', () => post('/token/introspection', 'token=a&client_id=%00&client_secret=x'), 401, 'invalid_client'],
  ['a NUL byte in client_id at revocation', () => post('/token/revocation', 'token=a&client_id=%00&client_secret=x'), 401, 'invalid_client'],
  ['token given twice to revocation', (c) => post('/token/revocation', 'token=a&token=b', { authorization: c.basic }), 400, 'invalid_request'],
  [
    'a text/plain revocation request',
    (c) => post('/token/revocation', 'token=a', { authorization: c.basic, 'content-type': 'text/plain' }),
    400,
    'invalid_request',
  ],
];

// Browser endpoints: an HTML error page, never a redirect (least of all to an unregistered redirect_uri).
const html = { accept: 'text/html' };
const pageCases: Case[] = [
  ['a NUL byte in client_id at /auth', (c) => ({ path: auth(c, { client_id: 'a\0b' }), headers: html }), 400],
  ['SQL metacharacters in client_id at /auth', (c) => ({ path: auth(c, { client_id: SQL }), headers: html }), 400],
  ['SQL metacharacters in redirect_uri at /auth', (c) => ({ path: auth(c, { redirect_uri: `${REDIRECT_URI}${SQL}` }), headers: html }), 400],
  ['a NUL byte in redirect_uri at /auth', (c) => ({ path: auth(c, { redirect_uri: `${REDIRECT_URI}\0` }), headers: html }), 400],
  ['client_id given twice at /auth', (c) => ({ path: auth(c, {}, `&client_id=${c.clientId}`), headers: html }), 400],
  ['an unknown client at /auth', (c) => ({ path: auth(c, { client_id: 'no-such-client' }), headers: html }), 400],
  [
    'a JSON POST to /auth',
    (c) => post('/auth', JSON.stringify({ client_id: c.clientId, response_type: 'code' }), { 'content-type': 'application/json', ...html }),
    400,
  ],
  ['a 100 KB POST to /auth (over the 56 KiB cap)', (c) => post('/auth', `client_id=${c.clientId}&x=${'a'.repeat(100_000)}`, html), 400],
  ['%zz as the body of a POST to /auth', () => post('/auth', '%zz', html), 400],
  ['client_id given twice in a POST to /auth', (c) => post('/auth', `${auth(c).slice('/auth?'.length)}&client_id=${c.clientId}`, html), 400],
  ['a nonexistent interaction', () => ({ path: '/interaction/nonexistent', headers: html }), 400],
  ['a NUL byte in the login email', (c) => login(c, 'email=grace%00%40example.test&password=whatever1'), 401],
  ['a 100 KB password (over the 16 KiB body cap)', (c) => login(c, `email=grace%40example.test&password=${'p'.repeat(100_000)}`), 413],
  ['a 15 KB password (under the body cap, over the password cap)', (c) => login(c, `email=grace%40example.test&password=${'p'.repeat(15_000)}`), 401],
  [
    'a chunked login body over the 16 KiB cap',
    (c) => login(c, [Buffer.from('email=grace%40example.test&pad='), ...Array.from({ length: 3 }, () => Buffer.alloc(8 * 1024, 'a'))]),
    413,
  ],
  ['a JSON login body', (c) => login(c, JSON.stringify(user), { 'content-type': 'application/json' }), 415],
  ['the email field given twice', (c) => login(c, 'email=a%40example.test&email=b%40example.test&password=whatever1'), 400],
  ['a login post to an unknown interaction', (c) => post('/interaction/nonexistent/login', 'email=a%40b.test&password=x', { cookie: c.cookie, ...html }), 400],
  ['a login post without the interaction cookie', (c) => post(`/interaction/${c.uid}/login`, 'email=a%40b.test&password=x', html), 400],
  ['a login post without its CSRF token', (c) => post(`/interaction/${c.uid}/login`, 'email=a%40b.test&password=x', { cookie: c.cookie, ...html }), 403],
  [
    'a login post with the CSRF token given twice',
    (c) => post(`/interaction/${c.uid}/login`, `csrf=${c.csrf}&csrf=${c.csrf}&email=a%40b.test&password=x`, { cookie: c.cookie, ...html }),
    400,
  ],
];

describe('bad input', () => {
  const gh = useTestGatehouse();
  let ctx: Ctx;
  let clientSecret: string;

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.accounts.registerAccount(user);
    const { client, clientSecret: secret } = await gh.services.clients.registerClient({
      name: 'Robust App',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'openid email read',
      resources: [API],
    });
    clientSecret = secret!;
    ctx = { clientId: client.client_id, basic: basicOf(`${client.client_id}:${clientSecret}`), uid: '', cookie: '', csrf: '' };
    // A live login interaction, as a browser would hold it, for the login-form cases.
    const ua = createUserAgent();
    const started = await ua.get(`${gh.issuer}${auth(ctx, { state: 's' })}`);
    ctx.uid = new URL(started.headers.get('location')!, gh.issuer).pathname.split('/')[2]!;
    ctx.cookie = ua.jar.header(new URL(`${gh.issuer}/interaction/${ctx.uid}/login`));
    const page = await (await ua.get(new URL(started.headers.get('location')!, gh.issuer).href)).text();
    ctx.csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  });

  /** Sends one request and returns it with the log lines it produced. */
  async function send(request: RawRequest): Promise<{ res: RawResponse; logged: Record<string, unknown>[] }> {
    const before = gh.logs().length;
    const res = await rawRequest(gh.issuer, request);
    return { res, logged: gh.logs().slice(before) };
  }
  const errorsIn = (logged: Record<string, unknown>[]) => logged.filter((l) => Number(l.level) >= 50);

  it.each(jsonCases)('answers %s with a 4xx error JSON', async (_name, build, status, error) => {
    const { res, logged } = await send(build(ctx));
    expect(res.status, res.text).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.text) as { error?: unknown };
    expect(typeof body.error).toBe('string');
    expect(body.error).toBe(error);
    expect(errorsIn(logged)).toEqual([]);
  });

  it.each(pageCases)('answers %s with a 4xx HTML page', async (_name, build, status) => {
    const { res, logged } = await send(build(ctx));
    expect(res.status, res.text.slice(0, 500)).toBe(status);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers.location).toBeUndefined();
    expect(res.text).toMatch(/^<!doctype html>/);
    expect(errorsIn(logged)).toEqual([]);
  });

  it('refuses a 20 KB state before it reaches the app (431 from the HTTP parser), without a redirect', async () => {
    const { res, logged } = await send({ path: auth(ctx, { state: 's'.repeat(20_000) }), headers: html });
    expect(res.status).toBe(431);
    expect(res.headers.location).toBeUndefined();
    expect(errorsIn(logged)).toEqual([]);
  });

  // RFC 6749 §4.1.2.1: once client and redirect_uri are known good, errors go back to the client.
  it.each([
    ['state given twice', (c: Ctx) => auth(c, { state: 'a' }, '&state=b')],
    ['redirect_uri given twice, the second unregistered', (c: Ctx) => auth(c, {}, `&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`)],
  ])('sends %s back to the registered redirect_uri as invalid_request, never elsewhere', async (_name, build) => {
    const { res, logged } = await send({ path: build(ctx), headers: html });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(errorsIn(logged)).toEqual([]);
  });

  it('ignores SQL metacharacters in scope as unknown scope values and goes on to sign-in (RFC 6749 §3.3)', async () => {
    const { res, logged } = await send({ path: auth(ctx, { scope: `openid ${SQL}` }), headers: html });
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/interaction\/[\w-]+$/);
    expect(errorsIn(logged)).toEqual([]);
  });

  it('keeps answering on a fresh connection after refusing an oversized body', async () => {
    const refused = await rawRequest(gh.issuer, token(`${cc}&x=${'a'.repeat(60 * 1024)}`, { authorization: ctx.basic }));
    expect(refused.status).toBe(400);
    const next = await rawRequest(gh.issuer, token(cc, { authorization: ctx.basic }));
    expect(next.status, next.text).toBe(200);
    expect(JSON.parse(next.text)).toHaveProperty('access_token');
  });

  // A body refused before it was read to its end must not stay on a keep-alive socket, where its
  // remaining bytes would be parsed as the next request (notes §2).
  it.each([
    [
      'oidc-provider refused at /token',
      (c: Ctx) => token([Buffer.from(`${cc}&x=`), ...Array.from({ length: 64 }, () => Buffer.alloc(16 * 1024, 'a'))], { authorization: c.basic }),
    ],
    ['the login form refused', (c: Ctx) => login(c, [Buffer.from('email=a%40b.test&pad='), ...Array.from({ length: 8 }, () => Buffer.alloc(8 * 1024, 'a'))])],
  ])('answers the next request on a keep-alive connection after a chunked body %s', async (_name, build) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = rawRequest(gh.issuer, { ...build(ctx), agent });
      const next = rawRequest(gh.issuer, { ...token(cc, { authorization: ctx.basic }), agent });
      expect((await refused).status).toBeGreaterThanOrEqual(400);
      const answered = await next;
      expect(answered.status, answered.text).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('leaves stored state intact: the client still gets a token and the user can still sign in', async () => {
    const options = { execute: [oauth.allowInsecureRequests] };
    const config = await oauth.discovery(new URL(gh.issuer), ctx.clientId, undefined, oauth.ClientSecretBasic(clientSecret), options);
    const granted = await oauth.clientCredentialsGrant(config, { scope: 'read', resource: API });
    expect(granted.access_token.split('.')).toHaveLength(3);

    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid email' });
    const tokens = await flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI));
    expect(tokens.claims()?.sub).toBeTruthy();
    expect(errorsIn(gh.logs())).toEqual([]);
  });
});
