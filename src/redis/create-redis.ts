import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisTopology } from '../config/load-config.ts';

export type RedisOptions = {
  keyPrefix?: string;
  /** Where connection losses and returns are logged (once each per outage). */
  logger?: Logger;
};

// Reconnect soon after Redis returns. Against a server that is down each attempt fails at once
// (connection refused), so trying twice a second costs nothing; ioredis' own backoff grows to 5 s,
// which is how long service lagged behind Redis' return.
const RETRY_CAP_MS = 500;
const retryDelay = (times: number) => Math.min(50 * 2 ** (times - 1), RETRY_CAP_MS) + Math.floor(Math.random() * 100);

const common = {
  // A command whose connection dropped fails at once, not after 3 reconnect attempts (with its
  // request waiting all that time): readiness reports the outage; callers answer 5xx now.
  maxRetriesPerRequest: 0,
  retryStrategy: retryDelay,
  // Until the first connection is up, commands wait for it (the server issues some while starting);
  // after that they are refused at once while Redis is down (see failFastOnceReady).
  enableOfflineQueue: true,
  lazyConnect: false,
};

/**
 * The ioredis client for a topology. A Cluster speaks the same commands as a single server as long
 * as each command (or script, or MULTI) touches keys of one hash slot: every store here issues
 * single-key commands (docs/dependency-notes.md), so the rest of the code can type it as `Redis`.
 *
 * While Redis is down, commands fail at once instead of queueing until it returns (what ioredis
 * does by default): a request waits for no reconnect, and answers 5xx within milliseconds.
 */
export function createRedis(topology: RedisTopology | string, options: RedisOptions = {}): Redis {
  const t: RedisTopology = typeof topology === 'string' ? { kind: 'single', url: topology } : topology;
  const keyPrefix = options.keyPrefix ?? 'gh:';
  let client: Redis | Cluster;
  if (t.kind === 'single') client = new Redis(t.url, { ...common, keyPrefix });
  else if (t.kind === 'sentinel') client = new Redis({ ...common, keyPrefix, sentinels: t.sentinels, name: t.masterName, password: t.password });
  else {
    client = new Cluster(t.nodes, {
      keyPrefix,
      enableOfflineQueue: true,
      clusterRetryStrategy: retryDelay,
      // A command whose node connection closed, or that a node refused with CLUSTERDOWN (a restarted
      // node until it has rejoined), is retried every 100 ms, 16 times, by default (for a replica to
      // take over): over a second of waiting per request. Fail it at once instead.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      // Node connections are not retried (ioredis drops a lost node and refreshes the slots).
      redisOptions: { maxRetriesPerRequest: 0, password: t.password },
    });
  }
  failFastOnceReady(client);
  if (options.logger) logOutages(client, options.logger);
  return client as unknown as Redis;
}

/**
 * ioredis reads `enableOfflineQueue` when each command is sent (Redis#sendCommand,
 * Cluster#sendCommand), so turning it off once connected makes commands fail at once whenever the
 * connection is not ready, while commands issued during start-up still wait for the first one.
 *
 * A Cluster consults the same option for its node connections, which are opened lazily and may
 * still be connecting while the cluster is ready (a command to them then waits for that connection,
 * and fails at once if the node is down: ioredis does not retry node connections). So on a
 * Cluster the queue is off only while the cluster as a whole is not ready.
 */
function failFastOnceReady(client: Redis | Cluster): void {
  if (client instanceof Cluster) {
    client.once('ready', () => {
      client.on('ready', () => (client.options.enableOfflineQueue = true));
      for (const status of ['close', 'reconnecting', 'end']) client.on(status, () => (client.options.enableOfflineQueue = false));
    });
    return;
  }
  client.once('ready', () => {
    client.options.enableOfflineQueue = false;
  });
}

/** One warning when the connection is lost, one line when it is back: not one per reconnect attempt. */
function logOutages(client: Redis | Cluster, logger: Logger): void {
  let lostAt: number | undefined;
  const onError = (err: Error) => {
    if (lostAt !== undefined) return;
    lostAt = Date.now();
    logger.warn({ err: err.message }, 'redis connection lost; requests that need Redis fail until it is back');
  };
  client.on('error', onError);
  if (client instanceof Cluster) client.on('node error', onError);
  client.on('ready', () => {
    if (lostAt === undefined) return;
    logger.info({ downMs: Date.now() - lostAt }, 'redis connection ready again');
    lostAt = undefined;
  });
}
