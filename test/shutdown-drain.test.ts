import { Agent, request } from 'node:http';
import knexFactory from 'knex';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type GatehouseProcess, runCli, startGatehouseProcess, within } from './support/gatehouse-process.ts';
import { freePort, until } from './support/own-services.ts';
import { testDatabaseUrl, uniqueName } from './support/test-env.ts';
import { TEST_SECRET } from './support/test-gatehouse.ts';

type Answer = { status: number; connection: string | undefined; afterSigterm: boolean };
type Outcome = { answers: Answer[]; ending: 'told to close' | 'refused' | 'reset' | 'deadline'; error?: string };

const sent = (method: string, port: number, path: string, agent: Agent, headers: Record<string, string>, body?: string) =>
  new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });

/**
 * SIGTERM under keep-alive load: each connection's client sends request after request on one
 * socket. A graceful drain answers every request it took (the last one with `Connection: close`)
 * and resets none; `/readyz` turns 503 at once; the process exits 0 with its pools closed after
 * the last answer.
 */
describe.runIf(testDatabaseUrl)('draining on SIGTERM (gatehouse serve as a real process)', { timeout: 120_000 }, () => {
  const schema = uniqueName('t_');
  let env: Record<string, string>;
  let basic: string;
  const spawned: GatehouseProcess[] = [];

  beforeAll(async () => {
    const knex = knexFactory({ client: 'pg', connection: testDatabaseUrl! });
    await knex.raw('create schema ??', [schema]);
    await knex.destroy();
    // libpq's `options` keeps every connection of every process in this test's own schema.
    const options = encodeURIComponent(`-c search_path=${schema}`);
    env = { DATABASE_URL: `${testDatabaseUrl}${testDatabaseUrl!.includes('?') ? '&' : '?'}options=${options}`, GATEHOUSE_SECRET: TEST_SECRET };
    const api = await runCli(['resources', 'create', '--identifier', 'https://api.drain.test', '--scope', 'read', '--json'], env);
    expect(api.code, api.stderr).toBe(0);
    const created = await runCli(
      [
        'clients',
        'create',
        '--name',
        'Busy service',
        '--grant-type',
        'client_credentials',
        '--scope',
        'read',
        '--resource',
        'https://api.drain.test',
        '--json',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    basic = `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}`;
  });
  afterEach(async () => {
    for (const p of spawned.splice(0)) {
      p.kill();
      await p.exited;
    }
  });
  afterAll(async () => {
    const knex = knexFactory({ client: 'pg', connection: testDatabaseUrl! });
    await knex.raw('drop schema if exists ?? cascade', [schema]);
    await knex.destroy();
  });

  const drainUnderLoad = async (workers: string) => {
    const port = await freePort();
    const server = startGatehouseProcess(['serve'], { ...env, PORT: String(port), WORKERS: workers });
    spawned.push(server);
    const expectedListening = Number(workers);
    await vi.waitFor(() => expect(server.output().match(/gatehouse listening/g)?.length ?? 0).toBe(expectedListening), { timeout: 60_000, interval: 50 });

    let sigtermSent = false;
    let stopAt = Infinity;
    let answered = 0;
    const token = (agent: Agent) =>
      sent(
        'POST',
        port,
        '/token',
        agent,
        { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        'grant_type=client_credentials&scope=read',
      );
    const readyz = (agent: Agent) => sent('GET', port, '/readyz', agent, {});

    // One socket per loop (maxSockets 1), reused for as long as the server keeps it open.
    const loop = async (send: (agent: Agent) => Promise<{ status: number; connection: string | undefined }>): Promise<Outcome> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const answers: Answer[] = [];
      try {
        while (Date.now() < stopAt) {
          const afterSigterm = sigtermSent;
          try {
            const answer = await send(agent);
            answers.push({ ...answer, afterSigterm });
            answered += 1;
            if (answer.connection === 'close') return { answers, ending: 'told to close' };
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === 'ECONNREFUSED') return { answers, ending: 'refused' };
            return { answers, ending: 'reset', error: code ?? (err as Error).message };
          }
        }
        return { answers, ending: 'deadline' };
      } finally {
        agent.destroy();
      }
    };

    // Readiness is probed on two keep-alive sockets in turn: when the signal finds one in flight
    // (answered, with Connection: close, as it began), the other is open and idle for only an instant.
    const probe = async (): Promise<Outcome> => {
      const agents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
      const answers: Answer[] = [];
      const closedAgents = new Set<number>();
      try {
        for (let i = 0; Date.now() < stopAt && closedAgents.size < 2; i += 1) {
          const which = i % 2;
          if (closedAgents.has(which)) continue;
          const afterSigterm = sigtermSent;
          try {
            const answer = await readyz(agents[which]!);
            answers.push({ ...answer, afterSigterm });
            answered += 1;
            if (answer.status === 503 && answer.connection === 'close') return { answers, ending: 'told to close' };
            if (answer.connection === 'close') closedAgents.add(which);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            return { answers, ending: code === 'ECONNREFUSED' ? 'refused' : 'reset', error: code ?? (err as Error).message };
          }
        }
        return { answers, ending: closedAgents.size === 2 ? 'told to close' : 'deadline' };
      } finally {
        for (const agent of agents) agent.destroy();
      }
    };

    const loops = [...Array.from({ length: 6 }, () => loop(token)), probe(), probe()];
    // Load first: the sockets carry requests before the signal.
    await until('load under way', () => answered >= 200, 30_000, 10);
    sigtermSent = true;
    const signalledAt = Date.now();
    stopAt = signalledAt + 15_000;
    server.child.kill('SIGTERM');
    const outcomes = await Promise.all(loops);
    const code = await within(server.exited, 20_000, 'exit after SIGTERM');
    const exitMs = Date.now() - signalledAt;

    const resets = outcomes.filter((o) => o.ending === 'reset');
    const afterSignal = outcomes.flatMap((o) => o.answers.filter((a) => a.afterSigterm));
    console.log(
      `WORKERS=${workers}: ${outcomes.reduce((n, o) => n + o.answers.length, 0)} answers, ${afterSignal.length} after SIGTERM; ` +
        `endings ${JSON.stringify(outcomes.map((o) => o.ending + (o.error ? `(${o.error})` : '')))}; resets ${resets.length}; exit ${code} after ${exitMs} ms`,
    );
    return { outcomes, resets, code, exitMs, output: server.output() };
  };

  const expectGracefulDrain = (result: Awaited<ReturnType<typeof drainUnderLoad>>, workers: 1 | 2) => {
    expect(result.resets.map((o) => o.error)).toEqual([]);
    // Every loop was told to close (or, having been told, found the port closed) — none hit the deadline.
    for (const o of result.outcomes) expect(['told to close', 'refused']).toContain(o.ending);
    // Every token request taken got its token (nothing failed on a closed pool)…
    for (const o of result.outcomes.slice(0, 6)) for (const a of o.answers) expect(a.status).toBe(200);
    // …and readiness turned 503 on the open sockets, with Connection: close. With two workers the
    // signal reaches them one after the other: a probe's socket on the later one may have its
    // request in flight when that worker begins to drain, and that request is answered as it began
    // (200, with Connection: close), as can every probe's. Each worker is runWorker, whose 503 the
    // one-process case pins.
    const probes = result.outcomes.slice(6);
    for (const o of probes) expect(o.answers.at(-1)).toMatchObject({ connection: 'close', status: workers === 1 ? 503 : expect.any(Number) });
    for (const o of probes) expect([200, 503]).toContain(o.answers.at(-1)?.status);
    expect(result.code).toBe(0);
    expect(result.exitMs).toBeLessThan(8_000);
    expect(result.output).not.toMatch(/"level":50/);
  };

  it('one process: answers every request it took, resets no connection, and exits 0', async () => {
    expectGracefulDrain(await drainUnderLoad('1'), 1);
  });

  it('WORKERS=2: the primary drains both workers the same way', async () => {
    expectGracefulDrain(await drainUnderLoad('2'), 2);
  });
});
