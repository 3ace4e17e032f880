import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import type { Adapter } from 'oidc-provider';
import type { ClientService } from '../../clients/client-service.ts';
import type { RefreshRotationRepository } from '../refresh-rotation-repository.ts';
import { createClientAdapter } from './client-adapter.ts';
import { createPostgresAdapter } from './postgres-adapter.ts';
import { createRedisAdapter } from './redis-adapter.ts';
import { createRefreshTokenAdapter } from './refresh-token-adapter.ts';
import { recordingSessionUse } from './session-use.ts';

// Short-lived, hot and TTL-shaped: Redis when there is one. Everything else must survive
// restarts and lives in Postgres (notes §4). Without Redis everything is in Postgres.
const SHORT_LIVED = new Set([
  'Session',
  'Interaction',
  'AuthorizationCode',
  'PushedAuthorizationRequest',
  'ReplayDetection',
  'AccessToken',
  'ClientCredentials',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/**
 * Refresh tokens' own storage (always Postgres) on a given connection: the refresh grace window
 * commits a rotation (consume, successor, answer) in one transaction (refresh-grace.ts).
 */
export const refreshTokensOn = (db: Knex): Adapter => createPostgresAdapter(db, 'RefreshToken');

/**
 * Which model lives where. oidc-provider instantiates one adapter per model per Provider.
 * `onGrantDestroyed` runs before a Grant is deleted, inside the request that revokes it (reuse
 * detection, refresh-token revocation, sign-out): the library awaits the Grant's destroy but not
 * its `grant.revoked` listeners, so only here is the revocation in force before the response goes out.
 */
export function adapterForModel(deps: {
  knex: Knex;
  redis: Redis | undefined;
  clients: ClientService;
  refreshRotations: RefreshRotationRepository;
  onGrantDestroyed: (grantId: string) => Promise<void>;
}) {
  const cache = new Map<string, Adapter>();
  return (model: string): Adapter => {
    let adapter = cache.get(model);
    if (!adapter) {
      if (model === 'Client') adapter = createClientAdapter(deps.clients);
      else if (model === 'RefreshToken') adapter = createRefreshTokenAdapter(refreshTokensOn(deps.knex), deps.refreshRotations);
      else if (deps.redis && SHORT_LIVED.has(model)) adapter = createRedisAdapter(deps.redis, model);
      else adapter = createPostgresAdapter(deps.knex, model);
      if (model === 'Grant') adapter = revokingOnDestroy(adapter, deps.onGrantDestroyed);
      if (model === 'Session') adapter = recordingSessionUse(adapter); // when and where each browser last used it (account page)
      cache.set(model, adapter);
    }
    return adapter;
  };
}

function revokingOnDestroy(adapter: Adapter, onDestroyed: (id: string) => Promise<void>): Adapter {
  const destroy = adapter.destroy.bind(adapter);
  return Object.assign(Object.create(adapter) as Adapter, {
    async destroy(id: string) {
      await onDestroyed(id);
      await destroy(id);
    },
  });
}
