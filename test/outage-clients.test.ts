import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GatehouseProcess, startGatehouseProcess } from './support/gatehouse-process.ts';
import { canStartOwnPostgres, freePort, type OwnPostgres, type OwnRedis, startOwnPostgres, startOwnRedis, until } from './support/own-services.ts';
import { testRedisUrl } from './support/test-env.ts';
import { dropStorage, newStorage, startTestGatehouse, TEST_SECRET, type TestGatehouse } from './support/test-gatehouse.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How the database and Redis clients behave while their server is down: what reaches the logs,
 * how long a request waits, how soon service resumes.
 */
describe.runIf(canStartOwnPostgres())('the Postgres client during an outage (gatehouse serve as a real process)', { timeout: 120_000 }, () => {
  let pg: OwnPostgres;
  let server: GatehouseProcess | undefined;
  beforeAll(async () => {
    pg = await startOwnPostgres();
  });
  afterEach(async () => {
    server?.kill();
    await server?.exited;
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it('writes only JSON lines while Postgres is down, and says so once per outage', async () => {
    const port = await freePort();
    server = startGatehouseProcess(['serve'], { DATABASE_URL: pg.url, GATEHOUSE_SECRET: TEST_SECRET, PORT: String(port) });
    await server.waitForLine(/gatehouse listening/, 60_000);
    const base = `http://127.0.0.1:${port}`;
    // Requests that need Postgres: an unknown client at the token endpoint, and readiness.
    const traffic = async () => {
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('nobody:nothing').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      await fetch(`${base}/readyz`);
    };
    await traffic(); // the library's one-time body-parser notice comes out here, before the outage
    const before = server.output().length;

    for (let round = 0; round < 2; round += 1) {
      await pg.stopImmediate();
      const outageEnds = Date.now() + 2_500;
      while (Date.now() < outageEnds) await traffic();
      await pg.start();
      await until('ready again', async () => (await fetch(`${base}/readyz`)).status === 200, 20_000, 100);
    }
    await traffic();

    const lines = server.output().slice(before).split('\n').filter(Boolean);
    const plain = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    const parsed = lines.filter((l) => !plain.includes(l)).map((l) => JSON.parse(l) as { msg: string; level: number });
    const down = parsed.filter((l) => l.msg === 'postgres unreachable');
    const back = parsed.filter((l) => l.msg === 'postgres reachable again');
    console.log(
      `during two Postgres outages: ${lines.length} lines, ${plain.length} not JSON; 'unreachable' ${down.length}×, 'reachable again' ${back.length}×`,
    );
    expect(plain.slice(0, 5)).toEqual([]);
    expect(down).toHaveLength(2);
    expect(back).toHaveLength(2);
  });
});

describe.runIf(testRedisUrl)('the Redis client during an outage', { timeout: 120_000 }, () => {
  const storage = newStorage({ useRedis: true });
  let redis: OwnRedis;
  let gh: TestGatehouse;
  let authorizeUrl: string;

  beforeAll(async () => {
    redis = await startOwnRedis();
    gh = await startTestGatehouse(storage, { REDIS_URL: redis.url });
    const { client } = await gh.services.clients.registerClient({ name: 'Web app', redirectUris: [REDIRECT_URI], scope: 'openid' });
    authorizeUrl = `${gh.issuer}/auth?${new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'st',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    })}`;
  });
  afterAll(async () => {
    await gh?.stop();
    await redis?.destroy();
    await dropStorage(storage);
  });

  /** An authorization request saves its interaction in Redis: 303 to the login page, or a 500. */
  const authorize = async () => {
    const started = performance.now();
    const res = await fetch(authorizeUrl, { redirect: 'manual', headers: { accept: 'text/html' } });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  };

  it('answers at once while Redis is down, and serves again within about a second of its return', async () => {
    expect((await authorize()).status).toBe(303);
    await redis.kill();
    const during: { status: number; ms: number }[] = [];
    const outageEnds = Date.now() + 4_000; // long enough for a growing reconnect backoff to reach seconds
    while (Date.now() < outageEnds) {
      during.push(await authorize());
      await pause(50);
    }
    await redis.start();
    const returned = performance.now();
    let first: number | undefined;
    while (first === undefined && performance.now() - returned < 10_000) {
      if ((await authorize()).status === 303) first = performance.now() - returned;
      else await pause(20);
    }
    const slowest = Math.max(...during.map((d) => d.ms));
    console.log(
      `Redis outage: ${during.length} requests, statuses ${[...new Set(during.map((d) => d.status))]}, slowest ${Math.round(slowest)} ms; served again ${first === undefined ? 'never (10 s)' : `${Math.round(first)} ms`} after Redis returned`,
    );
    expect(during.every((d) => d.status === 500)).toBe(true);
    expect(slowest).toBeLessThan(1_000);
    expect(first).toBeDefined();
    expect(first!).toBeLessThan(1_500);
  });
});
