import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Knex } from 'knex';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { up as migrateToDigests } from '../migrations/20261204000401_token_digests.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { testRedisUrl } from './support/test-env.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.at-rest.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'backup@example.test', password: 'a long and correct passphrase' };
const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** Every row of every table in the schema, as JSON text: what a `pg_dump --data-only` holds. */
async function dumpPostgres(knex: Knex, schema: string): Promise<string> {
  const tables = (await knex('information_schema.tables').where({ table_schema: schema }).pluck('table_name')) as string[];
  const parts: string[] = [];
  for (const table of tables) {
    const { rows } = await knex.raw<{ rows: { row: string }[] }>('select row_to_json(t)::text as row from ??.?? t', [schema, table]);
    parts.push(`-- ${table}`, ...rows.map((r) => r.row));
  }
  return parts.join('\n');
}

/** Every key under the prefix with its value (strings, hashes, sets, sorted sets, lists): a Redis dump. */
async function dumpRedis(prefix: string): Promise<string> {
  if (!testRedisUrl) return '';
  const bare = new Redis(testRedisUrl); // ioredis does not prefix SCAN patterns
  const parts: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await bare.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      for (const key of keys) {
        const type = await bare.type(key);
        const value =
          type === 'string'
            ? await bare.get(key)
            : type === 'hash'
              ? await bare.hgetall(key)
              : type === 'set'
                ? await bare.smembers(key)
                : type === 'zset'
                  ? await bare.zrange(key, '0', '-1', 'WITHSCORES')
                  : type === 'list'
                    ? await bare.lrange(key, 0, -1)
                    : type;
        parts.push(`${key} ${JSON.stringify(value)}`);
      }
      cursor = next;
    } while (cursor !== '0');
  } finally {
    bare.disconnect();
  }
  return parts.join('\n');
}

/**
 * Records what the client side saw: every cookie value set and every code in a redirect. The
 * user agent and openid-client both use the global fetch; this only watches it.
 */
function watchFetch(seen: Set<string>) {
  const real = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const res = await real(input, init);
    for (const header of res.headers.getSetCookie()) {
      const value = header.split(';')[0]!.split('=').slice(1).join('=');
      if (value) seen.add(value);
    }
    const location = res.headers.get('location');
    const code = location && URL.parse(location, 'http://x')?.searchParams.get('code');
    if (code) seen.add(code);
    return res;
  };
  return () => {
    globalThis.fetch = real;
  };
}

describe('tokens at rest', () => {
  const gh = useTestGatehouse();
  let web: oauth.Configuration;
  let webSecret: string;
  let service: oauth.Configuration;
  let other: oauth.Configuration;
  let serviceSecret: string;
  const seen = new Set<string>();
  const add = (...values: (string | undefined)[]) => {
    for (const v of values) if (v) seen.add(v);
  };

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    await gh.services.accounts.registerAccount(user);
    const options = { execute: [oauth.allowInsecureRequests] };
    const webClient = await gh.services.clients.registerClient({
      name: 'Backup App',
      redirectUris: [REDIRECT_URI],
      scope: 'openid offline_access email read',
      resources: [API],
      refreshTokenGraceSeconds: 120, // the saved grace answer is in the dump too
    });
    webSecret = webClient.clientSecret!;
    web = await oauth.discovery(new URL(gh.issuer), webClient.client.client_id, undefined, oauth.ClientSecretBasic(webSecret), options);
    const otherClient = await gh.services.clients.registerClient({ name: 'Other App', redirectUris: [REDIRECT_URI], scope: 'openid offline_access' });
    other = await oauth.discovery(new URL(gh.issuer), otherClient.client.client_id, undefined, oauth.ClientSecretBasic(otherClient.clientSecret!), options);
    const serviceClient = await gh.services.clients.registerClient({ name: 'Backup Service', resources: [API], scope: 'read' });
    serviceSecret = serviceClient.clientSecret!;
    service = await oauth.discovery(new URL(gh.issuer), serviceClient.client.client_id, undefined, oauth.ClientSecretBasic(serviceSecret), options);
  });

  const signInFor = async (ua: ReturnType<typeof createUserAgent>, scope: string) => {
    const flow = await startCodeFlow(web, { redirect_uri: REDIRECT_URI, scope, prompt: 'consent', nonce: oauth.randomNonce() });
    return flow.redeem(await signIn(ua, flow.url, user, REDIRECT_URI));
  };

  it('keeps no issued token, code, cookie or request_uri in a dump of Postgres and Redis', async () => {
    const stopWatching = watchFetch(seen);
    try {
      const ua = createUserAgent();
      // 1. Sign-in with consent and offline_access for the API: code, JWT, ID token, refresh token.
      const tokens = await signInFor(ua, 'openid offline_access email read');
      add(tokens.access_token, tokens.refresh_token, tokens.id_token);
      // 2. Refresh (rotates; the grace helper saves its answer sealed).
      const refreshed = await oauth.refreshTokenGrant(web, tokens.refresh_token!);
      add(refreshed.access_token, refreshed.refresh_token, refreshed.id_token);

      // 3. A sign-in without an API scope: an opaque userinfo token (stored), used at /me.
      const opaque = await signInFor(ua, 'openid offline_access email');
      add(opaque.access_token, opaque.refresh_token, opaque.id_token);
      expect(opaque.access_token.split('.')).toHaveLength(1);
      const me = await oauth.fetchUserInfo(web, opaque.access_token, oauth.skipSubjectCheck);
      expect(me.email).toBe(user.email);

      // 4. Client credentials.
      const cc = await oauth.clientCredentialsGrant(service, { scope: 'read' });
      add(cc.access_token);

      // 5. A pushed authorization request (RFC 9126), then the sign-in it starts (this session again).
      const verifier = oauth.randomPKCECodeVerifier();
      const pushed = await fetch(`${gh.issuer}/request`, {
        method: 'POST',
        headers: { authorization: `Basic ${btoa(`${web.clientMetadata().client_id}:${webSecret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: web.clientMetadata().client_id,
          response_type: 'code',
          redirect_uri: REDIRECT_URI,
          scope: 'openid offline_access read',
          prompt: 'consent',
          state: 'par-state',
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        }),
      });
      expect(pushed.status, await pushed.clone().text()).toBe(201);
      const { request_uri: requestUri } = (await pushed.json()) as { request_uri: string };
      add(requestUri, requestUri.split(':').at(-1));
      const parUrl = new URL(`${gh.issuer}/auth?${new URLSearchParams({ client_id: web.clientMetadata().client_id, request_uri: requestUri })}`);
      const parCallback = await signIn(ua, parUrl, user, REDIRECT_URI);
      const viaPar = await oauth.authorizationCodeGrant(web, parCallback, { pkceCodeVerifier: verifier, expectedState: 'par-state' });
      add(viaPar.access_token, viaPar.refresh_token, viaPar.id_token);

      // 6. Introspect a stored token; revoke one of another client (revoking ends its whole
      // grant, RFC 7009 §2.1; the audit trail records it).
      const introspected = await oauth.tokenIntrospection(web, opaque.access_token);
      expect(introspected.active).toBe(true);
      const otherUa = createUserAgent();
      const otherFlow = await startCodeFlow(other, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access', prompt: 'consent' });
      const revoked = await otherFlow.redeem(await signIn(otherUa, otherFlow.url, user, REDIRECT_URI));
      add(revoked.access_token, revoked.refresh_token, revoked.id_token);
      await oauth.tokenRevocation(other, revoked.refresh_token!);

      // 7. A sign-in still under way: its interaction is in storage now.
      const pending = createUserAgent();
      const started = await pending.get(
        oauth.buildAuthorizationUrl(web, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).href,
      );
      expect(started.status).toBe(303);
    } finally {
      stopWatching();
    }
    // Secrets the server only ever compares belong in the dump as hashes too.
    add(webSecret, serviceSecret, user.password);

    // Issued tokens reach the audit trail in batches: wait for them, so the dump has them too.
    await vi.waitFor(
      async () => {
        expect(await gh.services.audit.list({ type: 'token.revoked' })).not.toHaveLength(0);
        expect((await gh.services.audit.list({ type: 'token.issued' })).length).toBeGreaterThanOrEqual(5);
      },
      { timeout: 5000, interval: 100 },
    );
    const needles = [...seen].filter((v) => v.length >= 20); // short values (lang=ko) cannot be credentials
    expect(needles.length).toBeGreaterThan(20);
    const dump = `${await dumpPostgres(gh.knex, gh.storage.schema)}\n${await dumpRedis(gh.storage.redisPrefix)}`;
    // The dump did see the flow: sessions, grants, refresh tokens and the sealed grace answer are there.
    expect(dump).toMatch(/"model":"RefreshToken"/);
    expect(dump).toMatch(/-- refresh_token_rotations\n\{[^\n]*"answer":"[^"]+"/); // the sealed grace answer (Postgres since the rotation is one transaction)
    const found = needles.filter((needle) => dump.includes(needle));
    expect(
      found.map(
        (v) =>
          `${v.slice(0, 12)}… (${v.length} chars) at ${dump
            .slice(Math.max(0, dump.indexOf(v) - 80), dump.indexOf(v))
            .split('\n')
            .at(-1)}`,
      ),
    ).toEqual([]);
  });

  // Rows from before the upgrade: a refresh token stored under its own value (the old format,
  // rebuilt here from a current row), and a session of the old format in Redis.
  it('migrates refresh tokens stored before digests, which keep working, and still reads older sessions', async () => {
    const ua = createUserAgent();
    const tokens = await signInFor(ua, 'openid offline_access read');
    const refreshToken = tokens.refresh_token!;
    const updated = await gh
      .knex('oidc_payloads')
      .where({ model: 'RefreshToken', id: sha256Hex(refreshToken) })
      .update({ id: refreshToken, payload: gh.knex.raw("payload || jsonb_build_object('jti', ?::text)", [refreshToken]) });
    expect(updated).toBe(1);
    expect(await dumpPostgres(gh.knex, gh.storage.schema)).toContain(refreshToken);

    await migrateToDigests(gh.knex);
    expect(await dumpPostgres(gh.knex, gh.storage.schema)).not.toContain(refreshToken);
    const rotated = await oauth.refreshTokenGrant(web, refreshToken);
    expect(rotated.refresh_token).toBeTruthy();

    // The browser's session as the previous version wrote it to Redis: under the cookie value.
    if (!gh.redis) return;
    const cookie = ua.jar.get('_session')!;
    const current = await gh.redis.hgetall(`Session:${sha256Hex(cookie)}`);
    expect(current.payload).toBeTruthy();
    const payload = JSON.parse(current.payload!) as { uid: string };
    const ttl = await gh.redis.ttl(`Session:${sha256Hex(cookie)}`);
    await gh.redis.hset(`Session:${cookie}`, 'payload', JSON.stringify({ ...payload, jti: cookie }));
    await gh.redis.expire(`Session:${cookie}`, ttl);
    await gh.redis.set(`Session:uid:${payload.uid}`, cookie, 'EX', ttl);
    await gh.redis.unlink(`Session:${sha256Hex(cookie)}`);
    // Still signed in (and consent remembered): the next authorization request goes straight back.
    const pages = await ua.get(
      oauth.buildAuthorizationUrl(web, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).href,
    );
    expect(pages.status).toBe(303);
    expect(pages.headers.get('location')).toContain(REDIRECT_URI);
  });
});
