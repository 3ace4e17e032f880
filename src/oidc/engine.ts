import { type Configuration, Provider } from 'oidc-provider';

/**
 * The Provider that protocol work outside a request uses (issuing an initial access token from
 * the CLI, signing back-channel logout tokens after a sign-out everywhere): the serving one when
 * there is one (the server installs each build, so the current keys sign), else one of its own,
 * built once, for a command that serves nothing.
 */
export function createEngine(deps: { issuer: string; configuration: () => Promise<Configuration> }) {
  let serving: Provider | undefined;
  let standalone: Promise<Provider> | undefined;
  return {
    current: async (): Promise<Provider> => serving ?? (standalone ??= deps.configuration().then((c) => new Provider(deps.issuer, c))),
    install(provider: Provider): void {
      serving = provider;
    },
  };
}
