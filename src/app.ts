import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config/load-config.ts';
import { type CoreOptions, createCore } from './core.ts';
import { poolState } from './db/pool-state.ts';
import { registerStateGauges } from './http/metrics.ts';
import { createRouteTable } from './http/route-table.ts';
import { buildProvider } from './oidc/build-provider.ts';
import { engineSigningKeys } from './oidc/engine-signing-keys.ts';
import { observeProvider } from './oidc/observe-provider.ts';
import { startKeySchedule } from './signing-keys/key-schedule.ts';
import { startSweeper } from './sweeper/start-sweeper.ts';

export type GatehouseOptions = Omit<CoreOptions, 'joinRunningServer'> & {
  /** How often each instance runs the key schedule (default 30 s). */
  keyScheduleTickMs?: number;
};

/**
 * The composition root of the server: the core (storage and services, shared with the CLI), the
 * protocol engine (a Provider per signing-key set, swapped in on every key change), our HTTP
 * layer in front of it, and the background jobs (key schedule, sweeper).
 */
export async function createGatehouse(config: Config, options: GatehouseOptions = {}) {
  const core = await createCore(config, options);
  const { logger, knex, redis, notices } = core;
  const { signingKeys, metrics, audit } = core.services;
  const routes = createRouteTable(core);

  // The keystore is fixed when a Provider is built (notes §11): a key change builds a new one.
  const build = async () => {
    const provider = buildProvider({
      ...core.engineInputs,
      trustProxy: config.trustProxy,
      clientSecretPepper: core.secrets.clientSecretPepper,
      logger,
      signingKeys: engineSigningKeys(await signingKeys.loadSigners()),
      middleware: routes.middlewareFor,
    });
    observeProvider(provider, { metrics, audit, logger, isTokenAuditOn: config.isTokenAuditOn });
    core.engine.install(provider);
    return provider;
  };
  const builtFrom = await signingKeys.fingerprint();
  let provider = await build();
  let handle = provider.callback();
  // In-flight requests finish on the old Provider.
  const reload = async () => {
    provider = await build();
    handle = provider.callback();
  };

  registerStateGauges(metrics, {
    activeKeyAgeSeconds: () => signingKeys.activeKeyAgeSeconds(),
    pool: () => poolState(knex),
    isRedisReady: redis ? () => redis.status === 'ready' : undefined,
    isListeningForChanges: config.databaseUrl ? notices.isListening : undefined,
  });
  const keySchedule = startKeySchedule({
    store: signingKeys,
    notices,
    onKeysChanged: reload,
    logger,
    tickMs: options.keyScheduleTickMs ?? 30_000,
    pollMs: 5_000, // the "within seconds" guarantee holds even if a notice is lost
    builtFrom,
  });
  await keySchedule.runOnce();
  const sweeper = startSweeper({ knex, logger, intervalMs: 60_000, auditRetentionDays: config.auditRetentionDays });
  // Serve only once invalidations from other instances and the CLI are being received.
  await notices.ready();
  await core.shareWithCommands();

  return {
    config,
    logger,
    knex,
    redis,
    services: core.services,
    get provider() {
      return provider;
    },
    /** The HTTP handler; it always delegates to the current Provider. */
    callback: (req: IncomingMessage, res: ServerResponse) => handle(req, res),
    /** Builds a new Provider and swaps it in atomically. */
    reload,
    /** Runs the key schedule once now (tests; the server also runs it on a timer). */
    runKeySchedule: () => keySchedule.runOnce(),
    /** Sweeps expired rows once now (tests; the server also sweeps every minute). */
    sweep: () => sweeper.runOnce(),
    /** The server is shutting down: /readyz answers 503 from now on. */
    startDraining: routes.startDraining,
    async close() {
      await Promise.all([keySchedule.stop(), sweeper.stop(), routes.close()]);
      await core.close();
    },
  };
}

export type Gatehouse = Awaited<ReturnType<typeof createGatehouse>>;
