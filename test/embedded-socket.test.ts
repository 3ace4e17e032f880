import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDatabase, type Database } from '../src/db/create-knex.ts';
import { type EmbeddedSocket, embeddedSocketDirectory, embeddedSocketFile, shareEmbeddedDatabase } from '../src/db/embedded-socket.ts';

// The server's side of sharing its embedded database with commands, in this process: its knex
// and a plain pg client on the socket (what a command uses) on one PGlite session.
describe('the embedded database shared over a Unix socket', { timeout: 60_000 }, () => {
  let dataDir: string;
  let db: Database;
  let socket: EmbeddedSocket | undefined;
  let logs: string[];
  const clients: pg.Client[] = [];
  const notifications: string[] = [];

  const share = async (holdTimeoutMs?: number) => {
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        logs.push(String(chunk));
        done();
      },
    });
    socket = shareEmbeddedDatabase({ knex: db.knex, dataDir, logger: pino(sink), holdTimeoutMs });
    await socket!.open({ channels: ['gatehouse_changes'], onNotification: (channel, payload) => notifications.push(`${channel} ${payload}`) });
  };
  const connect = async () => {
    const client = new pg.Client({ host: embeddedSocketDirectory(dataDir), user: 'postgres', database: 'postgres' });
    client.on('error', () => {}); // a client cut off by the server: the test looks at what follows
    clients.push(client);
    await client.connect();
    return client;
  };
  const rows = async () => (await db.knex('t').select('x').orderBy('x')).map((r: { x: number }) => r.x);

  // One PGlite for the file (its first start costs seconds); each test gets a fresh table and socket.
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-socket-'));
    db = createDatabase({ url: undefined, dataDir });
  });
  afterAll(async () => {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    logs = [];
    notifications.length = 0;
    socket = undefined;
    await db.knex.schema.dropTableIfExists('t');
    await db.knex.schema.createTable('t', (table) => table.integer('x'));
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => {});
    await socket?.close();
  });

  it('keeps it to its owner: the directory is 0700 and the socket 0600', async () => {
    await share();
    await connect();
    expect((await stat(embeddedSocketDirectory(dataDir))).mode & 0o777).toBe(0o700);
    const file = await stat(embeddedSocketFile(dataDir));
    expect(file.isSocket()).toBe(true);
    expect(file.mode & 0o777).toBe(0o600);
  });

  it("does not let a client's statement run inside the server's open transaction (and vanish with its rollback)", async () => {
    await share();
    const client = await connect();
    let isClientDone = false;
    let wasClientDoneInTransaction: boolean | undefined;
    let insert: Promise<unknown> = Promise.resolve();
    await db.knex
      .transaction(async (trx) => {
        await trx('t').insert({ x: 1 });
        insert = client.query('insert into t (x) values ($1)', [2]).then(() => (isClientDone = true));
        // What must not happen cannot be awaited: give it time to.
        await new Promise((r) => setTimeout(r, 200));
        wasClientDoneInTransaction = isClientDone;
        throw new Error('roll back');
      })
      .catch(() => {});
    expect(wasClientDoneInTransaction, 'the client waited for the transaction').toBe(false);
    await insert;
    expect(await rows()).toEqual([2]);
  });

  it("does not let the server's queries run inside a client's open transaction", async () => {
    await share();
    const client = await connect();
    await client.query('begin');
    await client.query('insert into t (x) values (3)');
    let isServerDone = false;
    const serverInsert = db
      .knex('t')
      .insert({ x: 4 })
      .then(() => (isServerDone = true));
    await new Promise((r) => setTimeout(r, 200)); // as above: room for what must not happen
    expect(isServerDone, 'the server waited for the transaction').toBe(false);
    await client.query('rollback');
    await serverInsert;
    expect(await rows()).toEqual([4]);
  });

  it('rolls back the transaction of a client that vanished in it, and the server goes on', async () => {
    await share();
    const client = await connect();
    await client.query('begin');
    await client.query('insert into t (x) values (5)');
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await db.knex('t').insert({ x: 6 });
    expect(await rows()).toEqual([6]);
    const next = await connect();
    expect((await next.query('select count(*)::int as n from t')).rows).toEqual([{ n: 1 }]);
  });

  it('cuts off a client that sits inside a transaction past the hold timeout, so the server is not stuck', async () => {
    await share(300);
    const client = await connect();
    await client.query('begin');
    await client.query('insert into t (x) values (7)');
    // Waits behind the idle transaction until the timeout ends it.
    await db.knex('t').insert({ x: 8 });
    expect(await rows()).toEqual([8]);
    expect(logs.join('')).toMatch(/inside a transaction too long/);
    await expect(client.query('select 1')).rejects.toThrow();
  });

  it("hands a client's NOTIFY to the server", async () => {
    await share();
    const client = await connect();
    await client.query("select pg_notify('gatehouse_changes', $1)", ['client:abc']);
    await client.query('begin');
    await client.query("notify gatehouse_changes, 'resource:https://api.example.test'");
    await client.query('commit');
    await vi.waitFor(() => expect(notifications).toEqual(['gatehouse_changes client:abc', 'gatehouse_changes resource:https://api.example.test']), {
      timeout: 2_000,
      interval: 20,
    });
  });

  it('holds connections made before the server is ready, and answers them once it is', async () => {
    const sink = new Writable({ write: (_c, _e, done) => done() });
    socket = shareEmbeddedDatabase({ knex: db.knex, dataDir, logger: pino(sink) });
    const client = new pg.Client({ host: embeddedSocketDirectory(dataDir), user: 'postgres', database: 'postgres' });
    clients.push(client);
    let isConnected = false;
    const connecting = client.connect().then(() => (isConnected = true));
    await new Promise((r) => setTimeout(r, 200)); // as above
    expect(isConnected).toBe(false);
    await socket.open({ channels: [], onNotification: () => {} });
    await connecting;
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it("replaces a crashed server's socket file", async () => {
    await db.close();
    await mkdir(embeddedSocketDirectory(dataDir), { recursive: true });
    await writeFile(embeddedSocketFile(dataDir), 'left over');
    db = createDatabase({ url: undefined, dataDir });
    await share();
    const client = await connect();
    expect((await client.query('select count(*)::int as n from t')).rows).toEqual([{ n: 0 }]);
  });
});
