import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canStartOwnPostgres, type OwnPostgres, startOwnPostgres, until } from './support/own-services.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.audited.test';

/** The end of a Postgres answer: ReadyForQuery, 'Z' with length 5 and a status byte. */
const endsWithReadyForQuery = (held: Buffer) => held.length >= 6 && held[held.length - 6] === 0x5a && held.readInt32BE(held.length - 5) === 5;

/**
 * The audit batch's INSERT commits, then Postgres crashes before its answer reaches Gatehouse (a
 * proxy holds the answer back; `-m immediate` stops the server): Gatehouse cannot tell the batch
 * was written and sends it again once Postgres is back. The trail must hold every event once.
 */
describe.runIf(canStartOwnPostgres())('audit batches across a Postgres crash mid-flush', { timeout: 120_000 }, () => {
  const storage = newStorage();
  let pg: OwnPostgres;
  let proxy: TcpProxy;
  let gh: TestGatehouse;
  let direct: Knex;

  beforeAll(async () => {
    pg = await startOwnPostgres();
    proxy = await startTcpProxy(pg.port);
    gh = await startTestGatehouse(storage, { DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/postgres` });
    direct = knexFactory({ client: 'pg', connection: pg.url, searchPath: [storage.schema], pool: { min: 0, max: 2 } });
  });
  afterAll(async () => {
    await gh?.stop();
    await direct?.destroy();
    await proxy?.close();
    await pg?.destroy();
    await dropStorage(storage);
  });

  const tokensCounted = async (clientId: string) => {
    const rows = await direct('audit_events').where({ type: 'token.issued', client_id: clientId }).select('details');
    return rows.reduce((sum, r: { details: { count?: number } }) => sum + (r.details.count ?? 1), 0);
  };
  const markers = async () => Number((await direct('audit_events').where({ type: 'test.marker' }).count({ n: '*' }))[0]!.n);

  it('writes each event once when a committed batch is sent again', async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Audited job',
      grantTypes: ['client_credentials'],
      scope: 'read',
      resources: [API],
    });
    const basic = `Basic ${Buffer.from(`${client.client_id}:${clientSecret}`).toString('base64')}`;

    const held = proxy.holdAnswerTo('insert into "audit_events"', endsWithReadyForQuery);
    const TOKENS = 40;
    const MARKERS = 14;
    for (let i = 0; i < TOKENS; i += 1) {
      const res = await fetch(`${gh.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&scope=read',
      });
      expect(res.status).toBe(200);
    }
    for (let i = 0; i < MARKERS; i += 1) gh.services.audit.recordSoon({ type: 'test.marker', details: { i } });
    void gh.services.audit.flush();

    // The batch committed on the server; its answer is held back, then the server crashes.
    await held;
    expect((await tokensCounted(client.client_id)) + (await markers())).toBeGreaterThan(0);
    await pg.stopImmediate();
    proxy.dropAll();
    await pg.start();

    // Gatehouse saw the batch fail and retries it (repeatedly, until Postgres takes it).
    await until('the retried batch written', async () => {
      await gh.services.audit.flush();
      return gh.logs().filter((l) => String(l.msg).startsWith('audit write failed')).length > 0;
    });
    await gh.services.audit.flush();
    const counted = await tokensCounted(client.client_id);
    const written = await markers();
    console.log(`after the crash and retry: ${counted} tokens counted (issued ${TOKENS}), ${written} marker rows (recorded ${MARKERS})`);
    expect(counted).toBe(TOKENS);
    expect(written).toBe(MARKERS);
  });
});
