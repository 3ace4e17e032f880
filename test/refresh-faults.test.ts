import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatehouseProcess, startGatehouseProcess, within } from './support/gatehouse-process.ts';
import { canStartOwnPostgres, freePort, type OwnPostgres, type OwnRedis, startOwnPostgres, startOwnRedis, until } from './support/own-services.ts';
import { refreshUntilFault, retryAfterFault, startChains, type TokenClient } from './support/refresh-chains.ts';
import { testDatabaseUrl } from './support/test-env.ts';
import { dropStorage, newStorage, startTestGatehouse, TEST_SECRET, type TestGatehouse } from './support/test-gatehouse.ts';

// Faults injected into real servers while refresh-token rotations are in flight. Whatever the fault,
// a client that retries the token it last presented must keep its session (RFC 9700 §4.14.2 allows
// revoking only on a replay the grace window does not cover).
const API = 'https://api.refresh-faults.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const SCOPE = 'openid offline_access read';
const user = { email: 'faults@example.test', password: 'correct horse battery staple' };
const CHAINS = 10;

async function setUp(gh: TestGatehouse, tokenEndpointOrigin: string, graceSeconds: number): Promise<TokenClient> {
  await gh.services.resources.createResource({ identifier: API, scope: 'read' });
  await gh.services.accounts.registerAccount(user);
  const { client, clientSecret } = await gh.services.clients.registerClient({
    name: 'Flaky Network App',
    redirectUris: [REDIRECT_URI],
    scope: SCOPE,
    resources: [API],
    refreshTokenGraceSeconds: graceSeconds,
  });
  return { tokenEndpoint: `${tokenEndpointOrigin}/token`, clientId: client.client_id, clientSecret: clientSecret! };
}

/**
 * Every commit that saves a refresh token takes 300 ms from now on (a deferred trigger), so a fault
 * can be made to land while commits are under way: `committing` tells when enough are.
 */
async function slowDownRefreshTokenCommits(knex: TestGatehouse['knex']) {
  await knex.raw(`create function slow_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(0.3); return null; end $$`);
  await knex.raw(
    `create constraint trigger slow_refresh_token_commit after insert on oidc_payloads deferrable initially deferred
     for each row when (new.model = 'RefreshToken') execute function slow_commit()`,
  );
  return async (atLeast: number) => {
    const { rows } = await knex.raw<{ rows: { n: number }[] }>(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep'",
    );
    return rows[0]!.n >= atLeast;
  };
}

const summary = (results: { isLost: boolean; retry: { ms: number } }[]) => ({
  chains: results.length,
  lost: results.filter((r) => r.isLost).length,
  slowestRetryMs: Math.max(...results.map((r) => r.retry.ms)),
});

describe('a Redis outage while refresh tokens rotate', { timeout: 120_000 }, () => {
  const storage = newStorage({ useRedis: true });
  let redis: OwnRedis;
  let gh: TestGatehouse;

  beforeAll(async () => {
    redis = await startOwnRedis();
    gh = await startTestGatehouse(storage, { REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await gh?.stop();
    await redis?.destroy();
    await dropStorage(storage);
  });

  it('costs no chain its session: every retry gets the rotation it missed, or rotates', async () => {
    const client = await setUp(gh, gh.issuer, 30);
    const tokens = await startChains(gh.issuer, client, user, { count: CHAINS, redirectUri: REDIRECT_URI, scope: SCOPE });

    // Redis dies mid-burst, with everything it held (no persistence), and comes back empty.
    const atFault = await refreshUntilFault(client, tokens, { warmup: 3 * CHAINS, fault: () => redis.kill() });
    await redis.start();
    await until('Gatehouse reconnected to Redis', () => gh.redis!.status === 'ready');

    const results = await Promise.all(atFault.map((chain) => retryAfterFault(client, chain)));
    const counts = summary(results);
    console.info(`Redis outage: ${JSON.stringify(counts)}`);
    expect(counts.lost, JSON.stringify(results.filter((r) => r.isLost).map((r) => r.retry.body))).toBe(0);
    // A retry of a rotation that was answered gets that very answer back: one chain, not two.
    for (const [i, r] of results.entries()) if (atFault[i]!.answer) expect(r.gotSavedAnswer).toBe(true);
    expect(await gh.services.audit.list({ type: 'refresh_token.reuse_detected' })).toEqual([]);
  });
});

describe.runIf(testDatabaseUrl)('a Gatehouse process killed (SIGKILL) while refresh tokens rotate', { timeout: 180_000 }, () => {
  const storage = newStorage({ useRedis: true });
  let redis: OwnRedis;
  let admin: TestGatehouse;
  let dataDir: string;
  let port: number;
  let issuer: string;
  const spawned: GatehouseProcess[] = [];

  const serve = async () => {
    // libpq's `options` keeps every connection of the child in this test's own schema.
    const databaseUrl = `${testDatabaseUrl}${testDatabaseUrl!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${storage.schema}`)}`;
    const child = startGatehouseProcess(['serve'], {
      PORT: String(port),
      ISSUER: issuer,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      DATA_DIR: dataDir,
      GATEHOUSE_SECRET: TEST_SECRET,
    });
    spawned.push(child);
    await child.waitForLine(/gatehouse listening/, 60_000);
    return child;
  };

  beforeAll(async () => {
    redis = await startOwnRedis();
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-refresh-crash-'));
    port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    // An in-process instance on the same storage registers the client and the user.
    admin = await startTestGatehouse(storage, { REDIS_URL: redis.url, ISSUER: issuer });
  });
  afterAll(async () => {
    for (const child of spawned) {
      child.kill();
      await child.exited;
    }
    await admin?.stop();
    await redis?.destroy();
    await dropStorage(storage);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers a retry of a rotation the dead process committed, promptly, and loses no chain', async () => {
    const graceSeconds = 10; // the default window
    const client = await setUp(admin, issuer, graceSeconds);
    const first = await serve();
    const tokens = await startChains(issuer, client, user, { count: CHAINS, redirectUri: REDIRECT_URI, scope: SCOPE });
    // Postgres finishes a COMMIT whose client has vanished: the rotations being committed when the
    // process dies are durable, and their answers never reached anyone.
    const committing = await slowDownRefreshTokenCommits(admin.knex);
    const atFault = await refreshUntilFault(client, tokens, {
      warmup: CHAINS,
      fault: async () => {
        await until('rotations committing', () => committing(CHAINS / 2), 20_000, 10);
        first.kill();
        await within(first.exited, 10_000, 'exit after SIGKILL');
      },
    });
    const killedBy = ((await admin.knex.raw('select now() as now')) as { rows: { now: Date }[] }).rows[0]!.now;
    expect(atFault.every((chain) => !chain.answer)).toBe(true); // nothing answers once the process is gone
    await serve();

    const results = await Promise.all(atFault.map((chain) => retryAfterFault(client, chain)));
    const digests = atFault.map((chain) => createHash('sha256').update(chain.presented).digest('base64url'));
    const committedByTheDead = await admin
      .knex('refresh_token_rotations')
      .whereIn('token_digest', digests)
      .where('rotated_at', '<', killedBy)
      .count({ n: '*' })
      .first();
    const counts = { ...summary(results), retriesOfCommittedRotations: Number(committedByTheDead!.n) };
    console.info(`SIGKILL mid-rotation: ${JSON.stringify(counts)}`);
    expect(counts.lost, JSON.stringify(results.filter((r) => r.isLost).map((r) => r.retry.body))).toBe(0);
    // Well inside the window: nothing waits for a lock the dead process will never release.
    expect(counts.slowestRetryMs).toBeLessThan((graceSeconds * 1000) / 4);
    // The case in point did happen: some retries were of rotations the dead process had committed.
    expect(counts.retriesOfCommittedRotations).toBeGreaterThan(0);
  });
});

describe.runIf(canStartOwnPostgres())('a Postgres crash while refresh tokens rotate', { timeout: 120_000 }, () => {
  const storage = newStorage();
  let postgres: OwnPostgres;
  let gh: TestGatehouse;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    gh = await startTestGatehouse(storage, { DATABASE_URL: postgres.url });
  });
  afterAll(async () => {
    await gh?.stop();
    await postgres?.destroy();
    await dropStorage(storage);
  });

  it('loses no chain: a rotation is committed whole, with its answer, or not at all', async () => {
    const client = await setUp(gh, gh.issuer, 30);
    const tokens = await startChains(gh.issuer, client, user, { count: CHAINS, redirectUri: REDIRECT_URI, scope: SCOPE });
    const committing = await slowDownRefreshTokenCommits(gh.knex);

    // The server crashes (every connection dropped at once) while half the chains are committing.
    const atFault = await refreshUntilFault(client, tokens, {
      warmup: CHAINS,
      fault: async () => {
        await until('rotations committing', () => committing(CHAINS / 2), 20_000, 10);
        await postgres.stopImmediate();
      },
    });
    await postgres.start();

    const results = await Promise.all(atFault.map((chain) => retryAfterFault(client, chain)));
    const counts = summary(results);
    console.info(`Postgres crash: ${JSON.stringify(counts)}`);
    expect(counts.lost, JSON.stringify(results.filter((r) => r.isLost).map((r) => r.retry.body))).toBe(0);
    expect(await gh.services.audit.list({ type: 'refresh_token.reuse_detected' })).toEqual([]);
  });
});
