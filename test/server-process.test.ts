import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type GatehouseProcess, runCli, startGatehouseProcess, within } from './support/gatehouse-process.ts';
import { testDatabaseUrl, uniqueName } from './support/test-env.ts';
import { TEST_SECRET } from './support/test-gatehouse.ts';

/** A port nobody listens on right now (PORT=0 would make the issuer and the log line say 0). */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;
const isGone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

// Each server is a fresh Node process loading everything, plus PGlite's start: seconds each.
describe('gatehouse serve as a real process', { timeout: 90_000 }, () => {
  let dataDir: string;
  let port: number;
  const spawned: GatehouseProcess[] = [];
  const serve = (env: Record<string, string>) => {
    const p = startGatehouseProcess(['serve'], { PORT: String(port), DATA_DIR: dataDir, ...env });
    spawned.push(p);
    return p;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-serve-'));
    port = await freePort();
  });
  afterEach(async () => {
    for (const p of spawned.splice(0)) {
      p.kill();
      await p.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts with no configuration at all on embedded storage, serves discovery and keeps a 0600 dev secret in DATA_DIR', async () => {
    const server = serve({});
    const listening = parse(await server.waitForLine(/gatehouse listening/, 60_000));
    expect(listening).toMatchObject({ port, issuer: `http://localhost:${port}` });

    const res = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ issuer: `http://localhost:${port}`, jwks_uri: expect.stringContaining('/jwks') });

    const secret = await stat(join(dataDir, 'gatehouse-secret'));
    expect(secret.mode & 0o777).toBe(0o600);
    // The secret itself is never logged.
    expect(server.output()).not.toMatch(/secret"?\s*[:=]/i);
  });

  it('refuses to start in production without GATEHOUSE_SECRET, naming it in one line', async () => {
    const result = await runCli(['serve'], { NODE_ENV: 'production', ISSUER: 'https://id.example.com', PORT: String(port), DATA_DIR: dataDir });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^gatehouse: [^\n]*GATEHOUSE_SECRET[^\n]*\n$/);
    expect(result.stdout).toBe('');
  });

  it('on SIGTERM stops accepting, finishes the request in flight and exits 0', async () => {
    const server = serve({ GATEHOUSE_SECRET: TEST_SECRET });
    await server.waitForLine(/gatehouse listening/, 60_000);

    // A token request that waits, headers sent, for its body. `Expect: 100-continue` makes the
    // server say when it has taken the request (RFC 9110 §10.1.1), so SIGTERM finds it in flight.
    const body = 'grant_type=client_credentials&client_id=nobody&client_secret=nothing';
    const inFlight = request(`http://127.0.0.1:${port}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
    });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      inFlight.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      inFlight.on('error', reject);
    });
    const continued = once(inFlight, 'continue');
    inFlight.flushHeaders();
    await within(continued, 5_000, '100 Continue');

    server.child.kill('SIGTERM');
    await server.waitForLine(/shutting down/, 5_000);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();

    inFlight.end(body);
    const { status, text } = await within(answered, 5_000, 'the in-flight request');
    expect(status).toBe(401);
    expect(JSON.parse(text)).toMatchObject({ error: 'invalid_client' });
    expect(await within(server.exited, 5_000, 'exit after SIGTERM')).toBe(0);
  });

  it('refuses WORKERS=2 without DATABASE_URL: the embedded database belongs to one process', async () => {
    const result = await runCli(['serve'], { WORKERS: '2', PORT: String(port), DATA_DIR: dataDir, GATEHOUSE_SECRET: TEST_SECRET });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^gatehouse: [^\n]*DATABASE_URL[^\n]*\n$/);
  });

  it.runIf(testDatabaseUrl)('with WORKERS=2 and DATABASE_URL runs two worker processes that both answer, and stops them all on SIGTERM', async () => {
    const schema = uniqueName('t_');
    const knex = knexFactory({ client: 'pg', connection: testDatabaseUrl! });
    try {
      await knex.raw('create schema ??', [schema]);
      // libpq's `options` keeps every connection of every worker in this test's own schema.
      const options = encodeURIComponent(`-c search_path=${schema}`);
      const databaseUrl = `${testDatabaseUrl}${testDatabaseUrl!.includes('?') ? '&' : '?'}options=${options}`;
      const server = serve({ WORKERS: '2', DATABASE_URL: databaseUrl, GATEHOUSE_SECRET: TEST_SECRET });

      await vi.waitFor(() => expect(listeningPids(server.output())).toHaveLength(2), { timeout: 60_000, interval: 50 });
      const pids = listeningPids(server.output());
      expect(new Set(pids).size).toBe(2);

      // The primary hands new connections to the workers in turn: both must answer some.
      const answeredBy = new Set<number>();
      for (let i = 0; i < 40 && answeredBy.size < 2; i += 1) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } });
        expect(res.status).toBe(200);
        await vi.waitFor(() => expect(requestPids(server.output()).length).toBeGreaterThan(i), { timeout: 5_000, interval: 20 });
        for (const pid of requestPids(server.output())) answeredBy.add(pid);
      }
      expect([...answeredBy].sort()).toEqual([...pids].sort());

      server.child.kill('SIGTERM');
      expect(await within(server.exited, 15_000, 'cluster exit after SIGTERM')).toBe(0);
      for (const pid of pids) expect(isGone(pid), `worker ${pid} still running`).toBe(true);
    } finally {
      await knex.raw('drop schema if exists ?? cascade', [schema]);
      await knex.destroy();
    }
  });
});

const jsonLines = (text: string) =>
  text.split('\n').flatMap((l) => {
    try {
      return [parse(l)];
    } catch {
      return [];
    }
  });
const listeningPids = (text: string) =>
  jsonLines(text)
    .filter((l) => l.msg === 'gatehouse listening')
    .map((l) => l.pid as number);
const requestPids = (text: string) =>
  jsonLines(text)
    .filter((l) => l.msg === 'request' && l.path === '/healthz')
    .map((l) => l.pid as number);
