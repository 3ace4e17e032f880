import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, until } from './own-services.ts';

const run = promisify(execFile);

async function ping(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {}); // not up yet: the poll tries again
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}

export type RedisTopologyUnderTest = { ports: number[]; env: Record<string, string>; stop: () => Promise<void> };

/** Starts redis-server processes of our own (real servers, temporary, no persistence). */
async function startServers(count: number, extraArgs: (port: number, dir: string) => string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-redis-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i += 1) {
    const port = await freePort();
    ports.push(port);
    children.push(
      spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs(port, dir)], {
        stdio: 'ignore',
      }),
    );
  }
  for (const port of ports) await until(`redis-server on ${port}`, () => ping(port));
  const stop = async () => {
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  return { dir, ports, children, stop };
}

/** A Redis Cluster of three masters (no replicas), as REDIS_CLUSTER_NODES sees it. */
export async function startRedisCluster(): Promise<RedisTopologyUnderTest> {
  const servers = await startServers(3, (port) => ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`]);
  try {
    await run('redis-cli', ['--cluster', 'create', ...servers.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    // Every node, not just one: a node answers CLUSTERDOWN until it sees the cluster whole, and
    // Gatehouse's client fails such a command at once rather than retrying it for a second.
    for (const port of servers.ports) {
      await until(`cluster state ok on ${port}`, async () => {
        const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
        client.on('error', () => {});
        try {
          await client.connect();
          return (await client.cluster('INFO')).includes('cluster_state:ok');
        } finally {
          client.disconnect();
        }
      });
    }
  } catch (err) {
    await servers.stop();
    throw err;
  }
  return { ports: servers.ports, env: { REDIS_CLUSTER_NODES: servers.ports.map((p) => `127.0.0.1:${p}`).join(',') }, stop: servers.stop };
}

/** One master and one Sentinel watching it, as REDIS_SENTINELS sees it. */
export async function startRedisSentinel(masterName = 'gatehouse'): Promise<RedisTopologyUnderTest> {
  const master = await startServers(1, () => []);
  const sentinelPort = await freePort();
  const conf = join(master.dir, 'sentinel.conf');
  await writeFile(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor ${masterName} 127.0.0.1 ${master.ports[0]} 1\n`);
  const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const stop = async () => {
    sentinel.kill('SIGKILL');
    await master.stop();
  };
  try {
    await until('sentinel answering', () => ping(sentinelPort));
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports: [master.ports[0]!, sentinelPort], env: { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_MASTER: masterName }, stop };
}
