import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { authorizationUrl, walkPages } from './support/page-flow.ts';
import { testDatabaseUrl, testRedisUrl } from './support/test-env.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.observe.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const METRICS_TOKEN = 'metrics-token-for-the-scraper-0123';
const user = { email: 'watched@example.test', password: 'a passphrase to keep out of logs' };
const options = { execute: [oauth.allowInsecureRequests] };

/** The value of one sample line of the Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics and the audit trail', () => {
  const gh = useTestGatehouse({ METRICS_TOKEN, LOGIN_THROTTLE_FREE_ATTEMPTS: '2', LOGIN_THROTTLE_BLOCK_AFTER: '4' });
  const secrets: string[] = [user.password, METRICS_TOKEN];
  let serviceId: string;
  let appId: string;

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
    const service = await gh.services.clients.registerClient({ name: 'Metered job', grantTypes: ['client_credentials'], scope: 'read', resources: [API] });
    const app = await gh.services.clients.registerClient({
      name: 'Watched app',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access read',
      resources: [API],
      refreshTokenGraceSeconds: 0,
    });
    serviceId = service.client.client_id;
    appId = app.client.client_id;
    secrets.push(service.clientSecret!, app.clientSecret!);

    // Two client-credentials tokens.
    const serviceConfig = await oauth.discovery(new URL(gh.issuer), serviceId, undefined, oauth.ClientSecretBasic(service.clientSecret!), options);
    for (let i = 0; i < 2; i += 1) secrets.push((await oauth.clientCredentialsGrant(serviceConfig, { scope: 'read', resource: API })).access_token);

    // A user: one wrong password, then signed in with consent; the code exchanged for tokens.
    const appConfig = await oauth.discovery(new URL(gh.issuer), appId, undefined, oauth.ClientSecretBasic(app.clientSecret!), options);
    const flow = await startCodeFlow(appConfig, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent', resource: API });
    let tries = 0;
    const { callback } = await walkPages(createUserAgent(), flow.url, REDIRECT_URI, (page) =>
      page.kind === 'login' ? { post: 'login', fields: { ...user, password: tries++ === 0 ? 'wrong' : user.password } } : { post: 'confirm' },
    );
    const tokens = await flow.redeem(callback!, { resource: API });
    secrets.push(tokens.access_token, tokens.refresh_token!);

    // A rotation, then the spent refresh token again (no grace window): reuse detected.
    const rotated = await oauth.refreshTokenGrant(appConfig, tokens.refresh_token!, { resource: API });
    secrets.push(rotated.access_token, rotated.refresh_token!);
    await expect(oauth.refreshTokenGrant(appConfig, tokens.refresh_token!, { resource: API })).rejects.toThrow();

    // Revocations: the JWT access token, and a refresh token of a new chain.
    await oauth.tokenRevocation(appConfig, tokens.access_token);
    await gh.services.signingKeys.rotate();

    // A throttled email: two failures, then a refused attempt.
    const spray = createUserAgent();
    const { pages } = await walkPages(spray, await authorizationUrl(appConfig, { redirect_uri: REDIRECT_URI, scope: 'openid' }), REDIRECT_URI, () => 'stop');
    const login = `${pages[0]!.url.href.replace(/\/$/, '')}/login`;
    for (let i = 0; i < 3; i += 1) await (await spray.postForm(login, { email: 'target@example.test', password: `guess ${i}` })).text();
  });

  it('protects /metrics with the configured bearer token', async () => {
    expect((await fetch(`${gh.issuer}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${gh.issuer}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    expect((await fetch(`${gh.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  });

  it('counts tokens by grant type and client, reuse, sign-in outcomes, and reports key age, pool and Redis', async () => {
    const text = await (await fetch(`${gh.issuer}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(sample(text, 'gatehouse_tokens_issued_total', { grant_type: 'client_credentials', client_id: serviceId })).toBe(2);
    expect(sample(text, 'gatehouse_tokens_issued_total', { grant_type: 'authorization_code', client_id: appId })).toBe(1);
    expect(sample(text, 'gatehouse_tokens_issued_total', { grant_type: 'refresh_token', client_id: appId })).toBe(1);
    expect(sample(text, 'gatehouse_token_reuse_detected_total', { kind: 'refresh_token' })).toBe(1);
    expect(sample(text, 'gatehouse_sign_ins_total', { form: 'login', result: 'success' })).toBe(1);
    expect(sample(text, 'gatehouse_sign_ins_total', { form: 'login', result: 'failure' })).toBe(3);
    expect(sample(text, 'gatehouse_sign_ins_total', { form: 'login', result: 'throttled' })).toBe(1);
    expect(sample(text, 'gatehouse_signing_key_age_seconds')).toBeGreaterThanOrEqual(0);
    if (testDatabaseUrl) {
      expect(sample(text, 'gatehouse_postgres_pool_connections', { state: 'free' })).toBeGreaterThanOrEqual(0);
      expect(sample(text, 'gatehouse_postgres_pool_connections', { state: 'pending' })).toBe(0);
    }
    if (testRedisUrl) expect(sample(text, 'gatehouse_redis_up')).toBe(1);
  });

  it('records sign-ins, consent, tokens issued and revoked, reuse and key changes, with who and from where, and no secrets', async () => {
    await gh.services.audit.flush();
    const events = await gh.services.audit.list({ limit: 1000 });
    const of = (type: string) => events.filter((e) => e.type === type);
    const account = await gh.services.accounts.findByEmail(user.email);

    expect(of('sign_in.failed').filter((e) => e.accountId === account!.id)).toHaveLength(1);
    // An unknown email is recorded by its domain only.
    expect(of('sign_in.failed').filter((e) => !e.accountId)[0]!.details).toEqual({ method: 'password', email_domain: 'example.test' });
    expect(of('sign_in.throttled')).toHaveLength(1);
    expect(of('sign_in.succeeded')).toEqual([expect.objectContaining({ accountId: account!.id, clientId: appId, ip: '127.0.0.1' })]);
    expect(of('consent.granted')).toEqual([expect.objectContaining({ accountId: account!.id, clientId: appId })]);
    // A service's tokens are counted per flush (one row per 250 ms window, with a count).
    const serviceRows = of('token.issued').filter((e) => e.clientId === serviceId);
    expect(serviceRows.reduce((n, e) => n + (e.details!.count as number), 0)).toBe(2);
    expect(serviceRows[0]!.details).toMatchObject({ grant_type: 'client_credentials', scope: 'read', last_at: expect.any(String) });
    expect(
      of('token.issued')
        .filter((e) => e.clientId === appId && e.accountId === account!.id)
        .map((e) => e.details!.grant_type)
        .sort(),
    ).toEqual(['authorization_code', 'refresh_token']);
    expect(of('token.revoked')).toEqual([
      expect.objectContaining({ clientId: appId, accountId: account!.id, ip: '127.0.0.1', details: expect.objectContaining({ kind: 'AccessToken' }) }),
    ]);
    expect(of('refresh_token.reuse_detected')).toEqual([expect.objectContaining({ clientId: appId, accountId: account!.id })]);
    expect(of('signing_key.announced')).toEqual([expect.objectContaining({ details: expect.objectContaining({ by: 'rotate' }) })]);

    const everything = JSON.stringify(events);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('target@example.test');
  });

  it('filters the trail by client, account and time', async () => {
    const account = await gh.services.accounts.findByEmail(user.email);
    const byClient = await gh.services.audit.list({ clientId: serviceId });
    expect(new Set(byClient.map((e) => e.type))).toEqual(new Set(['client.created', 'token.issued']));
    expect(byClient.every((e) => e.clientId === serviceId)).toBe(true);
    const byAccount = await gh.services.audit.list({ accountId: account!.id });
    expect(byAccount.every((e) => e.accountId === account!.id)).toBe(true);
    expect(await gh.services.audit.list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  });
});
