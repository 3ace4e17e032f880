import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createGatehouse } from './app.ts';
import type { Config } from './config/load-config.ts';
import { gracefulDrain } from './http/graceful-drain.ts';

const SHUTDOWN_GRACE_MS = 10_000;

/** `gatehouse serve`: one process, or a node:cluster of WORKERS processes sharing the port. */
export async function serve(config: Config): Promise<void> {
  const workers = config.workers === 'auto' ? availableParallelism() : config.workers;
  if (workers > 1 && !config.databaseUrl) {
    throw new Error('WORKERS > 1 needs DATABASE_URL: the embedded database belongs to one process');
  }
  if (workers > 1 && cluster.isPrimary) return runPrimary(workers);
  return runWorker(config);
}

function runPrimary(workers: number): void {
  let stopping = false;
  let isForced = false;
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(isForced ? 1 : 0);
      return;
    }
    // A crashed worker is replaced; the others keep serving meanwhile.
    console.error(JSON.stringify({ level: 'error', msg: 'worker exited; restarting', pid: worker.process.pid, code }));
    cluster.fork();
  });
  const stop = () => {
    // A repeated signal changes nothing: the workers are draining (and would be cut by a second
    // SIGTERM's default action, were it not handled).
    if (stopping) return;
    stopping = true;
    // Each worker drains on its own (stops accepting, answers what it took); past its grace the
    // primary stops waiting.
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => {
      isForced = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    }, SHUTDOWN_GRACE_MS + 5_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function runWorker(config: Config): Promise<void> {
  const gatehouse = await createGatehouse(config);
  const server = createServer();
  const drain = gracefulDrain(server);
  server.on('request', drain.handler(gatehouse.callback));
  // Bound how long a slow or silent client can hold a socket.
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo; // the real one when PORT=0
  gatehouse.logger.info({ issuer: config.issuer, port, pid: process.pid }, 'gatehouse listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return; // a repeated signal must not cut the drain short
    stopping = true;
    gatehouse.logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    // Load balancers see it first: /readyz answers 503 from now on.
    gatehouse.startDraining();
    const { isComplete } = await drain.drain(SHUTDOWN_GRACE_MS);
    if (!isComplete) gatehouse.logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'shutdown grace over: cut the requests still running');
    await gatehouse.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
