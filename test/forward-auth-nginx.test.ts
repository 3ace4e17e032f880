import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fillTemplate, freePort, nginxBinary, type RunningNginx, startNginx } from './support/nginx.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.behind-nginx.test';
const TEMPLATE = new URL('../examples/nginx/gatehouse-forward-auth.conf.template', import.meta.url);
type Creds = { id: string; secret: string };
type Seen = { method: string; url: string; headers: IncomingHttpHeaders; body: string };

// CI installs nginx (.ci/run), so there this never skips; the no-skip reporter would fail it if it did.
describe.runIf(nginxBinary)('the shipped nginx configuration in front of an API, with Gatehouse as auth backend', () => {
  const gh = useTestGatehouse();
  let api: Server;
  let nginx: RunningNginx;
  let reader: Creds;
  let writer: Creds;
  const seen: Seen[] = [];

  const tokenFor = async (c: Creds, scope: string) => {
    const res = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${c.id}:${c.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const call = (path: string, init: { method?: string; token?: string; headers?: Record<string, string>; body?: string } = {}) =>
    fetch(`${nginx.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
      body: init.body,
    });
  const identity = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('x-auth-')));

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    for (const [name, scope] of [
      ['reader', 'read'],
      ['writer', 'read write'],
    ] as const) {
      const { client, clientSecret } = await gh.services.clients.registerClient({ name, scope, resources: [API] });
      (name === 'reader' ? (c: Creds) => (reader = c) : (c: Creds) => (writer = c))({ id: client.client_id, secret: clientSecret! });
    }
    // The API: records what reached it and echoes the identity headers it was given.
    api = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += String(chunk)));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(identity(req.headers)));
      });
    });
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');

    const port = await freePort();
    const config = fillTemplate(await readFile(TEMPLATE, 'utf8'), {
      LISTEN: `127.0.0.1:${port}`,
      GATEHOUSE_UPSTREAM: new URL(gh.issuer).host,
      API_UPSTREAM: `127.0.0.1:${(api.address() as AddressInfo).port}`,
      API_AUDIENCE: encodeURIComponent(API),
    });
    nginx = await startNginx(config, port);
  });
  afterAll(async () => {
    await nginx?.stop();
    api?.close();
  });

  it('answers 401 with the Bearer challenge and never calls the API without a token', async () => {
    const before = seen.length;
    const res = await call('/orders', { headers: { 'x-auth-subject': 'admin' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${gh.issuer}"`); // exactly one challenge
    expect(seen.length).toBe(before);
  });

  it('passes a valid token through, and the API sees who called', async () => {
    const res = await call('/orders?page=2', { token: await tokenFor(reader, 'read') });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ 'x-auth-subject': reader.id, 'x-auth-client-id': reader.id, 'x-auth-scope': 'read', 'x-auth-audience': API });
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/orders?page=2' });
    expect(seen.at(-1)!.headers.authorization).toMatch(/^Bearer /); // the API may still read the token itself
  });

  it('replaces identity headers a client forged', async () => {
    const res = await call('/orders', {
      token: await tokenFor(reader, 'read'),
      headers: { 'x-auth-subject': 'admin', 'X-Auth-Scope': 'read write admin', 'x-auth-client-id': 'root' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ 'x-auth-subject': reader.id, 'x-auth-client-id': reader.id, 'x-auth-scope': 'read' });
  });

  it('answers 403 insufficient_scope to a write with a read-only token, and lets a writer through with its body', async () => {
    const before = seen.length;
    const denied = await call('/orders', { method: 'POST', token: await tokenFor(reader, 'read'), body: '{"item":1}' });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toBe(
      `Bearer realm="${gh.issuer}", error="insufficient_scope", error_description="the token lacks a required scope", scope="write"`,
    );
    expect(seen.length).toBe(before);

    const allowed = await call('/orders', {
      method: 'POST',
      token: await tokenFor(writer, 'read write'),
      body: '{"item":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(allowed.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"item":1}' });
  });

  it('answers 401 invalid_token for a tampered token', async () => {
    const token = await tokenFor(reader, 'read');
    const res = await call('/orders', { token: `${token.slice(0, -4)}AAAA` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('refuses a token revoked at Gatehouse within seconds', async () => {
    const token = await tokenFor(reader, 'read');
    expect((await call('/orders', { token })).status).toBe(200);
    const revoked = await fetch(`${gh.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${reader.id}:${reader.secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    expect(revoked.status).toBe(200);
    await vi.waitFor(async () => expect((await call('/orders', { token })).status).toBe(401), { timeout: 5000, interval: 100 });
  });

  it('keeps the auth subrequest internal: clients cannot call it', async () => {
    expect((await call('/_gatehouse_auth', { token: await tokenFor(reader, 'read') })).status).toBe(404);
    expect(await nginx.errorLog()).not.toMatch(/\[(emerg|alert|crit)\]/);
  });
});
