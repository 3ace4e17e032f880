import { type Adapter, type AdapterPayload, errors, Provider } from 'oidc-provider';
import type { Actor } from '../../audit/audit-log.ts';
import { isBuiltInClient } from '../../clients/built-in-clients.ts';
import type { ClientMetadata } from '../../clients/client-repository.ts';
import type { ClientService } from '../../clients/client-service.ts';
import { AppError } from '../../errors/app-error.ts';
import { isPlausibleId } from './input-guard.ts';

/**
 * Clients as oidc-provider sees them. Operators manage clients with the CLI and admin API; the
 * engine writes only for dynamic registration (RFC 7591 create, RFC 7592 update and delete), and
 * those writes go through the client service like any other change (hashed secret, cache
 * invalidation on every instance, audit), which refuses to touch an operator's client.
 * oidc-provider asks for the client on every request; the service caches (notes §6).
 */
export function createClientAdapter(clients: ClientService): Adapter {
  const notHere = async () => {
    throw new Error('clients are not consumed or revoked through the protocol engine');
  };
  // The registration request's address, for the audit trail (the engine's request context).
  const actor = (): Actor => ({ via: 'registration', ip: Provider.ctx?.ip });
  const translated = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (err) {
      // Our refusal is the client's bad metadata: a 400 from the registration endpoint, not a 500.
      if (err instanceof AppError) throw new errors.InvalidClientMetadata(err.message);
      throw err;
    }
  };
  return {
    async find(id) {
      const metadata = isPlausibleId(id) ? await clients.findMetadata(id) : undefined;
      // A metadata document client's row only anchors it (client-service.ts): the engine fetches its metadata.
      // So does a built-in client's: the engine has it as a static client (built-in-clients.ts).
      if (metadata?.self_registered === 'metadata_document' || isBuiltInClient(metadata)) return undefined;
      return metadata as AdapterPayload | undefined;
    },
    async upsert(id, payload) {
      await translated(() => clients.saveSelfRegisteredClient({ ...(payload as ClientMetadata), client_id: id }, actor()));
    },
    async destroy(id) {
      await translated(() => clients.deleteSelfRegisteredClient(id, actor()));
    },
    consume: notHere,
    revokeByGrantId: notHere,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
