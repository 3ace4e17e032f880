import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canStartOwnPostgres, type OwnPostgres, startOwnPostgres, until } from './support/own-services.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.outage.test';

/** RFC 6749 §4.4 with client_secret_basic; the status (and error) the client got. */
async function clientCredentials(issuer: string, clientId: string, secret: string): Promise<{ status: number; error?: string; type: string }> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64');
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: '*/*' },
    body: 'grant_type=client_credentials&scope=read',
  });
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? ((await res.json()) as { error?: string }) : await res.text().then((): { error?: string } => ({}));
  return { status: res.status, error: body.error, type };
}

const readyz = async (issuer: string) => {
  const res = await fetch(`${issuer}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
};

const gauge = async (issuer: string, name: string) => {
  const text = await (await fetch(`${issuer}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

/**
 * Postgres of the test's own, stopped with `-m immediate` (every connection dropped at once, as in
 * a crash) and started again on the same port, under two running instances of Gatehouse.
 */
describe.runIf(canStartOwnPostgres())('a Postgres outage under running instances', { timeout: 120_000 }, () => {
  const storage = newStorage();
  let pg: OwnPostgres;
  let a: TestGatehouse; // the instance under test
  let b: TestGatehouse; // another instance on the same database (where an operator rotates)
  let direct: Knex;

  const outage = async (during: () => Promise<void>) => {
    await pg.stopImmediate();
    try {
      await during();
    } finally {
      await pg.start();
    }
  };

  beforeAll(async () => {
    pg = await startOwnPostgres();
    a = await startTestGatehouse(storage, { DATABASE_URL: pg.url });
    b = await startTestGatehouse(storage, { DATABASE_URL: pg.url });
    await a.services.resources.createResource({ identifier: API, scope: 'read' });
    direct = knexFactory({ client: 'pg', connection: pg.url, searchPath: [storage.schema], pool: { min: 0, max: 2 } });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await direct?.destroy();
    await pg?.destroy();
    await dropStorage(storage);
  });

  const register = async (name: string) => {
    const { client, clientSecret } = await b.services.clients.registerClient({ name, grantTypes: ['client_credentials'], scope: 'read', resources: [API] });
    return { id: client.client_id, secret: clientSecret! };
  };

  it('keeps serving client credentials from the cache through the outage, and refuses an unknown client with a 500 JSON error', async () => {
    const service = await register('cached service');
    const stranger = await register('never seen by instance A');
    expect((await clientCredentials(a.issuer, service.id, service.secret)).status).toBe(200);

    const outcomes: number[] = [];
    await outage(async () => {
      // The listener notices the loss; from then on the cache can only be a fallback.
      await until('A reports the notice listener down', async () => (await readyz(a.issuer)).body.checks.change_notices === 'reconnecting', 10_000);
      const ready = await readyz(a.issuer);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.postgres).toBe('unavailable');
      expect(await gauge(a.issuer, 'gatehouse_change_notices_listening')).toBe(0);
      for (let i = 0; i < 20; i += 1) outcomes.push((await clientCredentials(a.issuer, service.id, service.secret)).status);
      // Nothing cached for this one: a clean server error, not a hang.
      const unknown = await clientCredentials(a.issuer, stranger.id, stranger.secret);
      expect(unknown).toMatchObject({ status: 500, error: 'server_error' });
      expect(unknown.type).toContain('application/json');
    });
    console.log(`client credentials during the outage: ${outcomes.filter((s) => s === 200).length} OK of ${outcomes.length}`);
    // On failure, what A logged at level error or above says why (the answer is only server_error).
    const errors = () =>
      JSON.stringify(
        a
          .logs()
          .filter((l) => Number(l.level) >= 50)
          .slice(-3),
      );
    expect(outcomes, errors()).toEqual(outcomes.map(() => 200));

    await until('A listening again', async () => (await readyz(a.issuer)).body.checks.change_notices === 'ok', 15_000);
    expect(await gauge(a.issuer, 'gatehouse_change_notices_listening')).toBe(1);
  });

  it("refuses a secret rotated on another instance within seconds of Postgres' return", async () => {
    const service = await register('rotated after the outage');
    expect((await clientCredentials(a.issuer, service.id, service.secret)).status).toBe(200);

    // Long enough for a listener that retries once to give up.
    await outage(() => new Promise((resolve) => setTimeout(resolve, 2_000)));
    await until('A serves again', async () => (await readyz(a.issuer)).body.checks.postgres === 'ok', 15_000);
    // A fills its cache again with the current secret, then the operator rotates it on B.
    await until('A issues again', async () => (await clientCredentials(a.issuer, service.id, service.secret)).status === 200, 15_000);
    const rotatedAt = Date.now();
    const { clientSecret: newSecret } = await b.services.clients.rotateClientSecret(service.id);

    await until('A refuses the old secret', async () => (await clientCredentials(a.issuer, service.id, service.secret)).status === 401, 5_000, 100);
    console.log(`old secret refused by A ${Date.now() - rotatedAt} ms after the rotation`);
    expect((await clientCredentials(a.issuer, service.id, newSecret)).status).toBe(200);
  });

  it('refuses a secret rotated while only its notice connection was down (a missed notice is caught up)', async () => {
    const service = await register('rotated while A was not listening');
    expect((await clientCredentials(a.issuer, service.id, service.secret)).status).toBe(200);
    await until('A listening', async () => (await readyz(a.issuer)).body.checks.change_notices === 'ok', 15_000);

    // Only A's LISTEN connection dies (Postgres stays up), and the rotation's notice is sent at once,
    // before A can listen again: A never hears it.
    const killed = await direct.raw(
      "select pg_terminate_backend(pid) from pg_stat_activity where (application_name = 'gatehouse-change-notices' or query ilike 'LISTEN%') and pid <> pg_backend_pid()",
    );
    expect(killed.rows.length).toBeGreaterThan(0);
    const { clientSecret: newSecret } = await b.services.clients.rotateClientSecret(service.id);

    // No request reaches A until it listens again: what it cached before must not be trusted now.
    await until('A listening again', async () => (await readyz(a.issuer)).body.checks.change_notices === 'ok', 15_000);
    expect((await clientCredentials(a.issuer, service.id, service.secret)).status).toBe(401);
    expect((await clientCredentials(a.issuer, service.id, newSecret)).status).toBe(200);
    expect(a.logs().filter((l) => l.msg === 'change-notice listener listening again').length).toBeGreaterThan(0);
  });
});
