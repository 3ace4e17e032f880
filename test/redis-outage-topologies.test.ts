import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis } from '../src/redis/create-redis.ts';
import { freePort, startOwnRedis, until } from './support/own-services.ts';
import { testRedisUrl } from './support/test-env.ts';

const run = promisify(execFile);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A redis-server that can be SIGKILLed and started again on its port, with the same arguments. */
function restartable(args: string[], port: number) {
  let child: ChildProcess | undefined;
  const answers = async () => {
    try {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'ping']);
      return stdout.trim() === 'PONG';
    } catch {
      return false;
    }
  };
  return {
    start: async () => {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await until(`redis-server on ${port}`, answers);
    },
    kill: async () => {
      const c = child;
      child = undefined;
      if (!c) return;
      c.kill('SIGKILL');
      if (c.exitCode === null && c.signalCode === null) await new Promise((resolve) => c.once('exit', resolve));
    },
  };
}

/**
 * The client Gatehouse builds for each Redis topology, while the server it talks to is killed and
 * started again: commands fail within a bound instead of queueing for a reconnect, and succeed again
 * within about a second of the server's return.
 */
async function exerciseOutage(redis: Redis, kill: () => Promise<void>, start: () => Promise<void>, key = `k:${Math.random().toString(36).slice(2)}`) {
  await until('connected', async () => (await redis.set(key, 'before')) === 'OK');
  await kill();
  const waits: number[] = [];
  const outageEnds = Date.now() + 3_000; // long enough for a growing reconnect backoff to reach seconds
  while (Date.now() < outageEnds) {
    const started = performance.now();
    await expect(redis.set(key, 'during')).rejects.toThrow();
    waits.push(performance.now() - started);
    await pause(50);
  }
  await start();
  const returned = performance.now();
  let servedAfterMs: number | undefined;
  while (servedAfterMs === undefined && performance.now() - returned < 10_000) {
    try {
      if ((await redis.set(key, 'after')) === 'OK') servedAfterMs = performance.now() - returned;
    } catch {
      await pause(20);
    }
  }
  return { slowestMs: Math.max(...waits), count: waits.length, servedAfterMs };
}

describe.runIf(testRedisUrl)('the Redis client while its server is down', { timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const report = (name: string, r: Awaited<ReturnType<typeof exerciseOutage>>) => {
    console.log(
      `${name}: ${r.count} commands during the outage, slowest ${Math.round(r.slowestMs)} ms; served again ${r.servedAfterMs === undefined ? 'never (10 s)' : `${Math.round(r.servedAfterMs)} ms`} after the server returned`,
    );
    expect(r.slowestMs).toBeLessThan(500);
    expect(r.servedAfterMs).toBeDefined();
    expect(r.servedAfterMs!).toBeLessThan(1_500);
  };

  it('a single server', async () => {
    const server = await startOwnRedis();
    cleanups.push(server.destroy);
    const redis = createRedis(server.url, { keyPrefix: 'outage:' });
    redis.on('error', () => {});
    cleanups.push(async () => redis.disconnect());
    report('single', await exerciseOutage(redis, server.kill, server.start));
  });

  it('Sentinel: the master killed and started again', async () => {
    const master = await startOwnRedis();
    cleanups.push(master.destroy);
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-sentinel-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const sentinelPort = await freePort();
    const conf = join(dir, 'sentinel.conf');
    await writeFile(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor gatehouse 127.0.0.1 ${master.port} 1\n`);
    const sentinel = restartable([conf, '--sentinel'], sentinelPort);
    await sentinel.start();
    cleanups.push(sentinel.kill);
    const redis = createRedis({ kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port: sentinelPort }], masterName: 'gatehouse' }, { keyPrefix: 'outage:' });
    redis.on('error', () => {});
    cleanups.push(async () => redis.disconnect());
    report('sentinel', await exerciseOutage(redis, master.kill, master.start));
  });

  const startCluster = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-cluster-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const ports = [await freePort(), await freePort(), await freePort()];
    const nodes = ports.map((port) =>
      restartable(
        [
          '--bind',
          '127.0.0.1',
          '--port',
          String(port),
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
        ],
        port,
      ),
    );
    for (const n of nodes) await n.start();
    for (const n of nodes) cleanups.push(n.kill);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    // A node serves its slots once it has (re)joined the cluster: Redis answers CLUSTERDOWN until then.
    const joined = (port: number) =>
      until(
        `node ${port} in the cluster`,
        async () => (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'),
        20_000,
        20,
      );
    for (const port of ports) await joined(port);
    const redis = createRedis({ kind: 'cluster', nodes: ports.map((port) => ({ host: '127.0.0.1', port })) }, { keyPrefix: 'outage:' });
    redis.on('error', () => {});
    cleanups.push(async () => redis.disconnect());
    // A key whose hash slot the first node serves (redis-cli --cluster create gives it 0-5460).
    let key = '';
    for (let i = 0; !key; i += 1) {
      const slot = Number((await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'keyslot', `outage:k${i}`])).stdout.trim());
      if (slot <= 5460) key = `k${i}`;
    }
    return { ports, nodes, redis, key, joined };
  };

  it('Cluster: one of three masters killed and started again', async () => {
    const { ports, nodes, redis, key, joined } = await startCluster();
    const restart = async () => {
      await nodes[0]!.start();
      await joined(ports[0]!);
    };
    report('cluster, one node', await exerciseOutage(redis, nodes[0]!.kill, restart, key));
  });

  it('Cluster: every master killed and started again', async () => {
    const { ports, nodes, redis, key, joined } = await startCluster();
    const kill = async () => {
      for (const n of nodes) await n.kill();
    };
    const restart = async () => {
      for (const n of nodes) await n.start();
      for (const port of ports) await joined(port);
    };
    report('cluster, all nodes', await exerciseOutage(redis, kill, restart, key));
  });
});
