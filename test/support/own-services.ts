import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Postgres and Redis servers of a test's own (own port, own data directory), for fault injection:
 * they can be killed, stopped and started again without touching the shared services. Both keep
 * their port across restarts, so a Gatehouse pointed at them sees an outage and a return.
 */

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until `check` resolves true, or fails after the deadline with what it last saw. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

export type OwnRedis = {
  port: number;
  url: string;
  /** SIGKILL: the server vanishes mid-command, as in a crash. Its data is gone (no persistence). */
  kill: () => Promise<void>;
  /** Starts it again on the same port (empty). */
  start: () => Promise<void>;
  /** Kills it for good and removes its directory. */
  destroy: () => Promise<void>;
};

/** A redis-server of the test's own: no persistence, loopback only. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-own-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await until(`redis-server on ${port}`, () => isListening(port));
  };
  const kill = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill('SIGKILL');
    await exited(c);
    await until(`redis-server on ${port} gone`, async () => !(await isListening(port)));
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    destroy: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The Postgres server binaries of this machine (Debian puts them under /usr/lib/postgresql/<version>/bin). */
function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'postgres')));
}

/** Whether this machine can start a Postgres of a test's own (CI always can: .ci/run installs it). */
export const canStartOwnPostgres = () => postgresBinDir() !== undefined;

export type OwnPostgres = {
  port: number;
  /** postgres://…/postgres on this server. */
  url: string;
  /** `pg_ctl stop -m immediate`: the server drops every connection at once, as in a crash. */
  stopImmediate: () => Promise<void>;
  /** Starts it again on the same port and data directory (the data survives). */
  start: () => Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy: () => Promise<void>;
};

/**
 * A Postgres cluster of the test's own, in a temporary directory, trust auth, loopback only.
 * Postgres refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no Postgres server binaries under /usr/lib/postgresql');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-own-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const pgRun = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
  await pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const start = async () => {
    await pgRun('pg_ctl', ['start', '-D', data, '-w', '-l', join(dir, 'log'), '-o', options]);
    await until(`postgres on ${port}`, () => isListening(port));
  };
  const stopImmediate = async () => {
    await pgRun('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
    await until(`postgres on ${port} gone`, async () => !(await isListening(port)));
  };
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stopImmediate,
    start,
    destroy: async () => {
      await stopImmediate();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
