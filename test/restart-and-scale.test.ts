import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { startFrontDoor } from './support/front-door.ts';
import { signIn } from './support/sign-in.ts';
import { testDatabaseUrl, testRedisUrl } from './support/test-env.ts';
import { dropStorage, newStorage, type Storage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'ada@example.test', password: 'correct horse battery staple' };
const options = { execute: [oauth.allowInsecureRequests] };

const jwksOf = async (origin: string) => (await (await fetch(`${origin}/jwks`)).json()) as JSONWebKeySet;

/** What a restart or a second instance must find in storage: an API, a user and a client. */
async function register(gh: TestGatehouse, issuer: string): Promise<oauth.Configuration> {
  await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
  await gh.services.accounts.registerAccount({ ...user, name: 'Ada' });
  const { client, clientSecret } = await gh.services.clients.registerClient({
    name: 'Web App',
    redirectUris: [REDIRECT_URI],
    scope: 'openid offline_access read',
    resources: [API],
  });
  return oauth.discovery(new URL(issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), options);
}

/** The whole code flow with PKCE through the login and consent pages; returns the tokens. */
async function codeFlow(config: oauth.Configuration) {
  const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent' });
  const callback = await signIn(createUserAgent(), flow.url, user, REDIRECT_URI);
  return { callback, redeem: () => flow.redeem(callback) };
}

// Every instance's ISSUER is the front door's address, as behind a real load balancer, so the
// issuer stays put while the instances behind it come and go.
describe('a restart on the same storage', () => {
  let dataDir: string | undefined;
  let storage: Storage;
  let current: TestGatehouse | undefined;
  let door: Awaited<ReturnType<typeof startFrontDoor>>;
  let config: oauth.Configuration;
  let before: { jwks: JSONWebKeySet; accessToken: string; refreshToken: string };

  beforeAll(async () => {
    // Without a Postgres server the state must outlive the process: PGlite on disk, not in memory.
    dataDir = testDatabaseUrl ? undefined : await mkdtemp(join(tmpdir(), 'gatehouse-restart-'));
    storage = newStorage(dataDir ? { dataDir } : {});
    door = await startFrontDoor(() => ({ name: 'current', origin: current!.issuer }));
    current = await startTestGatehouse(storage, { ISSUER: door.url });
    config = await register(current, door.url);
    const tokens = await (await codeFlow(config)).redeem();
    before = { jwks: await jwksOf(door.url), accessToken: tokens.access_token, refreshToken: tokens.refresh_token! };

    await current.stop();
    current = undefined;
    current = await startTestGatehouse(storage, { ISSUER: door.url });
  });
  afterAll(async () => {
    await current?.stop();
    await door?.close();
    await dropStorage(storage);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('publishes the same JWKS: the signing keys were loaded, not regenerated', async () => {
    const after = await jwksOf(door.url);
    expect(after.keys.length).toBeGreaterThan(0);
    expect(after).toEqual(before.jwks);
  });

  it('still verifies an access token issued before the restart against the new JWKS', async () => {
    const { payload } = await jwtVerify(before.accessToken, createLocalJWKSet(await jwksOf(door.url)), { issuer: door.url, audience: API, typ: 'at+jwt' });
    expect(payload.scope).toBe('read');
  });

  it('still honours a refresh token issued before the restart', async () => {
    const refreshed = await oauth.refreshTokenGrant(config, before.refreshToken);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(before.refreshToken);
    const { payload } = await jwtVerify(refreshed.access_token, createLocalJWKSet(await jwksOf(door.url)), { issuer: door.url, audience: API });
    expect(payload.client_id).toBe(config.clientMetadata().client_id);
  });

  it('still knows the client and its secret, and the user can sign in again', async () => {
    const tokens = await (await codeFlow(config)).redeem();
    expect(tokens.claims()?.sub).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
  });
});

describe('two instances on shared storage', () => {
  it.runIf(testDatabaseUrl && testRedisUrl)('serve one flow between them: /auth on A, login and consent on B, code at B, refresh at A', async () => {
    const storage = newStorage({ useRedis: true });
    let tokenEndpoint = 'A';
    const instances: Record<string, TestGatehouse> = {};
    // /auth (and the resume after login) on A, every form POST on B, the token endpoint as the test says.
    const door = await startFrontDoor((req) => {
      const path = req.url!.split('?')[0]!;
      const name = path === '/token' ? tokenEndpoint : path.startsWith('/interaction/') && req.method === 'POST' ? 'B' : 'A';
      return { name, origin: instances[name]!.issuer };
    });
    try {
      instances.A = await startTestGatehouse(storage, { ISSUER: door.url });
      instances.B = await startTestGatehouse(storage, { ISSUER: door.url });
      const config = await register(instances.A, door.url);

      const flow = await codeFlow(config);
      const servedBy = (method: string, pattern: RegExp) => door.served.filter((s) => s.method === method && pattern.test(s.path)).map((s) => s.backend);
      expect(servedBy('GET', /^\/auth$/)).toEqual(['A']);
      expect(servedBy('POST', /^\/interaction\/[^/]+\/login$/)).toEqual(['B']);
      expect(servedBy('POST', /^\/interaction\/[^/]+\/confirm$/)).toEqual(['B']);

      tokenEndpoint = 'B';
      const tokens = await flow.redeem();
      tokenEndpoint = 'A';
      const refreshed = await oauth.refreshTokenGrant(config, tokens.refresh_token!);
      expect(door.served.filter((s) => s.path === '/token').map((s) => s.backend)).toEqual(['B', 'A']);

      // Each instance publishes the same keys, so a token from either verifies against either.
      const [jwksA, jwksB] = [await jwksOf(instances.A.issuer), await jwksOf(instances.B.issuer)];
      expect(jwksA).toEqual(jwksB);
      for (const token of [tokens.access_token, refreshed.access_token]) {
        await jwtVerify(token, createLocalJWKSet(jwksA), { issuer: door.url, audience: API, typ: 'at+jwt' });
      }
    } finally {
      await Promise.all(Object.values(instances).map((gh) => gh.stop()));
      await door.close();
      await dropStorage(storage);
    }
  });

  it.runIf(testDatabaseUrl)('started at the same moment on a fresh storage, migrate once and create exactly one active signing key', async () => {
    const storage = newStorage();
    const started = await Promise.allSettled([startTestGatehouse(storage), startTestGatehouse(storage)]);
    const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    try {
      expect(started.filter((s) => s.status === 'rejected')).toEqual([]);
      const [a, b] = instances as [TestGatehouse, TestGatehouse];
      const keys = await a.services.signingKeys.listKeys();
      expect(keys.filter((k) => k.status === 'active')).toHaveLength(1);
      expect(await b.services.signingKeys.listKeys()).toEqual(keys);
      expect(await jwksOf(a.issuer)).toEqual(await jwksOf(b.issuer));
      const migrations = await a.knex('knex_migrations').select('name');
      expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
    } finally {
      await Promise.all(instances.map((gh) => gh.stop()));
      await dropStorage(storage);
    }
  });
});
