import type { JSONWebKeySet } from 'jose';
import type { Middleware } from 'koa';
import { type ExternalSigningKey, type JWK, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { verifyClientSecret } from '../clients/client-secret.ts';
import { isRedirectUriAllowed, type RedirectingClient } from '../clients/loopback-redirect.ts';
import type { TrustProxy } from '../config/load-config.ts';
import { trustedProxy } from '../http/trusted-proxy.ts';
import { assertRegisteredSecretMethod } from './client-auth-method.ts';
import { type ProviderConfigurationInputs, providerConfiguration } from './provider-configuration.ts';
import { markCookiesSecure, sessionCookiePolicy } from './session-cookies.ts';

export type BuildProviderInputs = ProviderConfigurationInputs & {
  issuer: string;
  /** Undefined: X-Forwarded-* are ignored. */
  trustProxy: TrustProxy | undefined;
  clientSecretPepper: Buffer;
  logger: Logger;
  /** Our middleware, outermost first; runs before oidc-provider's router. Gets this build's public keys. */
  middleware: (provider: Provider, publicJwks: JSONWebKeySet) => Middleware[];
};

// Reads getters too: an ExternalSigningKey exposes its public members that way.
const publicJwks = (keys: ReadonlyArray<JWK | ExternalSigningKey>): JSONWebKeySet => ({
  keys: keys.map(({ kty, n, e, crv, x, y, kid, alg, use }) =>
    Object.fromEntries(Object.entries({ kty, n, e, crv, x, y, kid, alg, use }).filter(([, v]) => v !== undefined)),
  ),
});

/**
 * Builds a Provider and applies everything that is not configuration. The keystore is fixed at
 * construction, so a key change means building a new one (notes §11): everything here must be
 * re-applied on every build.
 */
export function buildProvider(inputs: BuildProviderInputs): Provider {
  const provider = new Provider(inputs.issuer, providerConfiguration(inputs));
  // Honour X-Forwarded-* only from trusted proxies (notes §2): Koa reads them once proxy is on,
  // so trustedProxy, first of all our middleware, leaves only what those proxies wrote.
  provider.proxy = inputs.trustProxy !== undefined;
  if (sessionCookiePolicy(inputs.issuer).isSecureContext) markCookiesSecure(provider);
  // Stored secrets are keyed hashes; compare in constant time (notes §7). Only with the
  // registered method: Basic and form-posted secrets are not interchangeable.
  provider.Client.prototype.compareClientSecret = function compare(this: { clientSecret?: string; clientAuthMethod?: string }, presented: string) {
    assertRegisteredSecretMethod(Provider.ctx, this.clientAuthMethod);
    return verifyClientSecret(presented, this.clientSecret, inputs.clientSecretPepper);
  };
  // Exact redirect-URI matching, with RFC 8252 §7.3's any-port loopback for public native clients
  // only (oidc-provider's own rule gives it to every native client, and to "localhost").
  type Redirecting = RedirectingClient & { redirectUris: string[]; postLogoutRedirectUris?: string[] };
  provider.Client.prototype.redirectUriAllowed = function allowed(this: Redirecting, value: string) {
    return isRedirectUriAllowed(value, this.redirectUris, this);
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(this: Redirecting, value: string) {
    return isRedirectUriAllowed(value, this.postLogoutRedirectUris ?? [], this);
  };
  // Every ID token carries sid (OIDC Front-/Back-Channel Logout §3 / §2.1): relying parties match
  // logout requests and logout tokens to their sessions by it. oidc-provider adds it only for
  // back-channel clients that ask; discovery lists it regardless.
  provider.Client.prototype.includeSid = () => true;
  cacheClientInstances(provider);
  const jwks = publicJwks(inputs.signingKeys);
  if (inputs.trustProxy) provider.use(trustedProxy(inputs.trustProxy));
  for (const mw of inputs.middleware(provider, jwks)) provider.use(mw);
  provider.on('server_error', (ctx, err) => {
    inputs.logger.error({ err, requestId: ctx.state?.requestId, route: ctx.oidc?.route }, 'oidc server_error');
  });
  return provider;
}

/**
 * oidc-provider re-hashes a stored client's JSON on every request to find its Client instance
 * (notes §6). Our client cache hands out the same metadata object until the client changes, so
 * the instance can be kept by that object's identity instead.
 */
function cacheClientInstances(provider: Provider): void {
  const byMetadata = new WeakMap<object, InstanceType<Provider['Client']>>();
  const { adapter } = provider.Client as unknown as { adapter: { find(id: string): Promise<object | undefined> } };
  const find = provider.Client.find.bind(provider.Client);
  provider.Client.find = async (id: string) => {
    const metadata = typeof id === 'string' ? await adapter.find(id) : undefined;
    if (!metadata) return find(id);
    let client = byMetadata.get(metadata);
    if (!client) {
      client = await find(id);
      if (client) byMetadata.set(metadata, client);
    }
    return client;
  };
}
