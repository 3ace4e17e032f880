import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ClientService } from '../../clients/client-service.ts';
import { isPlausibleId } from './input-guard.ts';

/**
 * Clients are managed by the CLI and admin tools, not by dynamic registration, so this adapter
 * only reads. oidc-provider asks for the client on every request; the service caches (notes §6).
 */
export function createClientAdapter(clients: ClientService): Adapter {
  const readOnly = async () => {
    throw new Error('clients are read-only through the protocol engine');
  };
  return {
    async find(id) {
      return isPlausibleId(id) ? ((await clients.findMetadata(id)) as AdapterPayload | undefined) : undefined;
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
