import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Configuration, JWK } from 'oidc-provider';
import { createOutboundFetch } from '../../src/http/outbound-fetch.ts';
import { type ProviderConfigurationInputs, providerConfiguration } from '../../src/oidc/provider-configuration.ts';
import { createResourceIndicators } from '../../src/oidc/resources.ts';
import type { ResourceServer, ResourceService } from '../../src/resources/resource-service.ts';

export const ENGINE_ISSUER = 'https://gatehouse.example.test';

/** APIs as the resource service would find them, held in memory. */
export function resourcesOf(apis: Pick<ResourceServer, 'identifier' | 'scopes'>[]): Pick<ResourceService, 'find'> {
  const byIdentifier = new Map(
    apis.map((a): [string, ResourceServer] => [a.identifier, { accessTokenTtlSeconds: 600, isRbac: false, tokenClaims: [], signingAlg: 'RS256', ...a }]),
  );
  return { find: async (identifier: string) => byIdentifier.get(identifier) };
}

let signingKey: JWK | undefined;
const testSigningKey = (): JWK => {
  signingKey ??= {
    ...(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }) as JWK),
    alg: 'RS256',
    use: 'sig',
    kid: 'unit',
  };
  return signingKey;
};

/**
 * The server's own oidc-provider configuration (providerConfiguration, the pure function the server
 * builds its Providers from) with inert pages and accounts, and no storage of ours: a Provider
 * built from it keeps its models in oidc-provider's in-memory adapter. For unit tests of the
 * engine's client validation and of grants, without a server.
 */
export function engineConfiguration(inputs: Partial<ProviderConfigurationInputs> & { resources?: Pick<ResourceService, 'find'> } = {}): Configuration {
  const { resources = resourcesOf([]), ...overrides } = inputs;
  const none = async () => undefined;
  return providerConfiguration({
    issuer: ENGINE_ISSUER,
    signingKeys: [testSigningKey()],
    cookieKeys: ['unit-test-cookie-key'],
    dpopNonceSecret: randomBytes(32),
    adapter: undefined as unknown as ProviderConfigurationInputs['adapter'], // oidc-provider's MemoryAdapter
    findAccount: none,
    loadExistingGrant: none,
    resourceIndicators: createResourceIndicators(resources),
    refreshTokens: { idleSeconds: 14 * 86_400, absoluteSeconds: 90 * 86_400 },
    pages: { renderError: async () => {}, logoutSource: async () => {}, postLogoutSuccessSource: async () => {} },
    devicePages: { userCodeInputSource: async () => {}, userCodeConfirmSource: async () => {}, successSource: async () => {} },
    selfService: { isDeviceFlowOn: false, registration: 'off', isClientIdMetadataDocumentOn: false },
    registrationGrantFor: () => undefined,
    metadataDocumentGrant: { via: 'metadata_document', apis: [], apiScopes: undefined, mayBeConfidential: false },
    allowMetadataDocumentFetch: async () => false,
    allowMetadataDocumentClient: async () => false,
    fetch: createOutboundFetch(),
    ...overrides,
  });
}
