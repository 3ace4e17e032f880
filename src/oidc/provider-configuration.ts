import type { Adapter, Configuration, FindAccount, JWK, KoaContextWithOIDC } from 'oidc-provider';
import { STANDARD_SCOPES } from '../clients/standard-scopes.ts';
import { grantDigest } from '../revocation/revocation-list.ts';
import { mayIntrospect, type IntrospectingClient } from './introspection-policy.ts';
import { authorizationParameterCaps } from './authorization-parameter-caps.ts';
import type { createResourceIndicators } from './resources.ts';

export type ProviderConfigurationInputs = {
  /** Private JWKs, the active key first; others marked key_ops ['verify'] (notes §11). */
  signingKeys: JWK[];
  cookieKeys: string[];
  dpopNonceSecret: Buffer;
  adapter: (model: string) => Adapter;
  findAccount: FindAccount;
  /** Fills a grant from remembered consent, or for a first-party client (load-existing-grant.ts). */
  loadExistingGrant: NonNullable<Configuration['loadExistingGrant']>;
  resourceIndicators: ReturnType<typeof createResourceIndicators>;
  /** Server-wide defaults; a client's own metadata overrides them. */
  refreshTokens: { idleSeconds: number; absoluteSeconds: number };
  pages: Pick<Configuration, 'renderError'> & {
    logoutSource: (ctx: KoaContextWithOIDC, form: string) => Promise<void>;
    postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => Promise<void>;
  };
};

export const ID_TOKEN_TTL_SECONDS = 3600;
// oidc-provider's default clockTolerance, for what it checks itself (client assertions, DPoP
// proofs at /token), and the key schedule's margin. Our access tokens are checked everywhere
// with access-token-check.ts's skew (5 s), which this exceeds.
export const CLOCK_SKEW_SECONDS = 15;
// No HS* anywhere: client secrets are stored hashed, so nothing can derive a MAC key from them (notes §7).
const ASYMMETRIC_ALGS: ('RS256' | 'PS256' | 'ES256' | 'EdDSA')[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

type ClientExtras = {
  refresh_token_idle_seconds?: number;
  refresh_token_absolute_seconds?: number;
  clientId: string;
  clientAuthMethod: string;
  redirectUris: string[];
};
export const SESSION_TTL_SECONDS = 14 * 86_400;
// Anyone can start an interaction with a GET /auth; most that never lead to a sign-in are bots or
// abandoned tabs, so they get a short life (the sign-in page, its upstream round trips and
// sign-up all fit in it). Once someone has signed in, the consent step may take longer.
export const SIGN_IN_INTERACTION_TTL_SECONDS = 600;
export const SIGNED_IN_INTERACTION_TTL_SECONDS = 3600;

/** A pure function from our inputs to oidc-provider's configuration. */
export function providerConfiguration(o: ProviderConfigurationInputs): Configuration {
  return {
    adapter: o.adapter as unknown as Configuration['adapter'],
    clients: [], // every client comes from the Client adapter (Postgres)
    jwks: { keys: o.signingKeys },
    cookies: { keys: o.cookieKeys },
    findAccount: o.findAccount,
    // RFC 9700 §2.1.2: code flow only; no implicit, no hybrid.
    responseTypes: ['code'],
    // RFC 9700 §2.1.1: PKCE for every client, confidential ones too (S256 is the only method in v9).
    pkce: { required: () => true },
    scopes: [...STANDARD_SCOPES],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: { clientAuthSigningAlgValues: ASYMMETRIC_ALGS, requestObjectSigningAlgValues: ASYMMETRIC_ALGS },
    extraClientMetadata: {
      properties: [
        'allowed_resources',
        'allowed_api_scopes',
        'can_introspect',
        'refresh_token_grace_seconds',
        'refresh_token_idle_seconds',
        'refresh_token_absolute_seconds',
        'first_party', // true: never shown the consent page (the operator's own apps)
        'token_rate_limit_per_second', // this client's own token-endpoint rate (else TOKEN_RATE_LIMIT_PER_SECOND)
      ],
    },
    // Browsers may call the token and userinfo endpoints only from a public client's own origins.
    clientBasedCORS(ctx, origin, client) {
      const c = client as unknown as ClientExtras;
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && c.clientAuthMethod !== 'none') return false;
      return c.redirectUris.some((uri) => URL.parse(uri)?.origin === origin);
    },
    features: {
      devInteractions: { enabled: false }, // on by default: any username would sign in (notes §3)
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §4: the token's own client, or an API's own client for that API's access tokens
        // (introspection-policy.ts; JWTs take the same policy in introspect-jwt.ts). Never about
        // a deleted client's tokens.
        allowedPolicy: async (ctx, client, token) => {
          const t = { clientId: token.clientId!, audience: (token as { aud?: unknown }).aud, isRefreshToken: token.kind === 'RefreshToken' };
          if (!mayIntrospect(client as unknown as IntrospectingClient, t)) return false;
          return t.clientId === client.clientId || (await ctx.oidc.provider.Client.find(t.clientId)) !== undefined;
        },
      },
      // RFC 7009 §2.1: a client revokes only tokens issued to it.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      dPoP: { enabled: true, nonceSecret: o.dpopNonceSecret },
      resourceIndicators: o.resourceIndicators as NonNullable<Configuration['features']>['resourceIndicators'],
      rpInitiatedLogout: { enabled: true, logoutSource: o.pages.logoutSource, postLogoutSuccessSource: o.pages.postLogoutSuccessSource },
    },
    ttl: {
      // Keep each API's own TTL: a fixed number here would silently override it (notes §8).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_TTL_SECONDS,
      Interaction: (_ctx, interaction) =>
        interaction.session?.accountId ? SIGNED_IN_INTERACTION_TTL_SECONDS : SIGN_IN_INTERACTION_TTL_SECONDS,
      // Anyone's GET /session/end stores a session for the logout form's xsrf secret: without an
      // account it lives as briefly as an interaction before sign-in, or one address could fill
      // Redis with 14-day entries. Each save recomputes it: a sign-in gives the session its 14 days.
      Session: (_ctx, session) => (session.accountId ? SESSION_TTL_SECONDS : SIGN_IN_INTERACTION_TTL_SECONDS),
      // Sliding: each rotation gets the idle time again, but never past the chain's absolute end
      // (iiat is when the chain began).
      RefreshToken(_ctx, token, client) {
        const c = client as unknown as ClientExtras;
        const idle = c.refresh_token_idle_seconds ?? o.refreshTokens.idleSeconds;
        const absolute = c.refresh_token_absolute_seconds ?? o.refreshTokens.absoluteSeconds;
        const age = Math.floor(Date.now() / 1000) - (token.iiat ?? Math.floor(Date.now() / 1000));
        return Math.max(1, Math.min(idle, absolute - age));
      },
      // A Grant caps every chain issued under it (notes §9). Chains start while the session that
      // consented lives, so session + the absolute lifetime never cuts a valid chain short
      // (a client's own absolute lifetime may only be shorter than the server's).
      Grant: SESSION_TTL_SECONDS + o.refreshTokens.absoluteSeconds,
    },
    // Which grant a token belongs to (as a digest), so revoking the grant revokes its JWTs too.
    extraTokenClaims: async (_ctx, token) => {
      const { grantId } = token as { grantId?: string };
      return grantId ? { gid: grantDigest(grantId) } : undefined;
    },
    // Rotate on every use; a spent token presented again revokes the grant (RFC 9700 §4.14.2).
    rotateRefreshToken: true,
    clockTolerance: CLOCK_SKEW_SECONDS,
    loadExistingGrant: o.loadExistingGrant,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // Size caps on free-text parameters of /auth and PAR (a flood of big ones filled Redis).
    extraParams: authorizationParameterCaps(),
    renderError: o.pages.renderError,
  };
}
