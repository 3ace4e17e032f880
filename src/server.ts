import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Config } from './config/load-config.ts';
import { createGatehouse } from './app.ts';

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
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    // A crashed worker is replaced; the others keep serving meanwhile.
    console.error(JSON.stringify({ level: 'error', msg: 'worker exited; restarting', pid: worker.process.pid, code }));
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function runWorker(config: Config): Promise<void> {
  const gatehouse = await createGatehouse(config);
  const server = createServer(gatehouse.callback);
  // Bound how long a slow or silent client can hold a socket.
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo; // the real one when PORT=0
  gatehouse.logger.info({ issuer: config.issuer, port, pid: process.pid }, 'gatehouse listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    gatehouse.logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve()); // stops accepting; resolves when in-flight requests are done
      server.closeIdleConnections();
    });
    clearTimeout(force);
    await gatehouse.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
