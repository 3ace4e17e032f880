import { type Adapter, type Configuration, errors, Provider } from 'oidc-provider';
import type { ClientMetadata } from '../clients/client-repository.ts';
import { AppError } from '../errors/app-error.ts';

// Client.validate reads configuration only; a storage call here would be a bug, so it fails loudly.
const noStorage: Adapter = new Proxy({} as Adapter, {
  get: () => async () => {
    throw new Error('client metadata validation does not use storage');
  },
});

/**
 * oidc-provider's own validation of client metadata, so the CLI and the admin API never save a
 * client that the engine would refuse later. It runs on a Provider of its own, built once from
 * the same configuration as the serving ones but with no storage: the client service can then
 * be built before any serving Provider exists (which needs the client service for its storage).
 */
export function createClientMetadataValidator(deps: { issuer: string; configuration: () => Promise<Configuration> }) {
  let validator: Promise<Provider> | undefined;
  return async (metadata: ClientMetadata): Promise<void> => {
    validator ??= deps.configuration().then((c) => new Provider(deps.issuer, { ...c, adapter: () => noStorage }));
    try {
      await (await validator).Client.validate(metadata);
    } catch (err) {
      // The engine's verdict is bad input to our callers (CLI, admin): an AppError, not a protocol error.
      if (err instanceof errors.InvalidClientMetadata) throw new AppError(err.error, err.error_description ?? err.message);
      throw err;
    }
  };
}
