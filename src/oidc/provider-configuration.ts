import { randomBytes } from 'node:crypto';
import { type Adapter, type Configuration, type ExternalSigningKey, errors, type FindAccount, type JWK, type KoaContextWithOIDC } from 'oidc-provider';
import { accountClientMetadata } from '../clients/built-in-clients.ts';
import { clientExtras, EXTRA_CLIENT_METADATA } from '../clients/client-extras.ts';
import { generateClientSecret } from '../clients/client-secret.ts';
import { STANDARD_SCOPES } from '../clients/standard-scopes.ts';
import type { OutboundFetch } from '../http/outbound-fetch.ts';
import { grantDigest } from '../revocation/revocation-list.ts';
import { authorizationParameterCaps } from './authorization-parameter-caps.ts';
import { mayIntrospect } from './introspection-policy.ts';
import type { createResourceIndicators } from './resources.ts';
import { applySelfRegistration, grantOfExistingClient, isMetadataDocumentClientId, type SelfRegistrationGrant } from './self-registration.ts';
import { sessionCookiePolicy } from './session-cookies.ts';

export type ProviderConfigurationInputs = {
  issuer: string;
  /**
   * The published keys, the active key first; the others cannot sign (key_ops ['verify'], notes
   * §11). ExternalSigningKeys (engine-signing-keys.ts) in the server; private JWKs also work.
   */
  signingKeys: ReadonlyArray<JWK | ExternalSigningKey>;
  cookieKeys: string[];
  dpopNonceSecret: Buffer;
  adapter: (model: string) => Adapter;
  findAccount: FindAccount;
  /** Fills a grant from remembered consent, or for a first-party client (load-existing-grant.ts). */
  loadExistingGrant: NonNullable<Configuration['loadExistingGrant']>;
  resourceIndicators: ReturnType<typeof createResourceIndicators>;
  /** Claims an API declared for its user tokens (roles, user attributes): token-permissions.ts. */
  userTokenClaims?: (ctx: KoaContextWithOIDC, token: object) => Promise<Record<string, unknown> | undefined>;
  /** Server-wide defaults; a client's own metadata overrides them. */
  refreshTokens: { idleSeconds: number; absoluteSeconds: number };
  pages: Pick<Configuration, 'renderError'> & {
    logoutSource: (ctx: KoaContextWithOIDC, form: string) => Promise<void>;
    postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => Promise<void>;
  };
  /** RFC 8628 pages (device-pages.ts): enter the code, confirm the app, done. */
  devicePages: DevicePages;
  /** Which of the self-service features are on (DEVICE_FLOW, REGISTRATION, CLIENT_ID_METADATA_DOCUMENTS). */
  selfService: { isDeviceFlowOn: boolean; registration: 'off' | 'token' | 'open'; isClientIdMetadataDocumentOn: boolean };
  /** The grant of the registration request being handled, looked up before the engine runs (registration-guard.ts). */
  registrationGrantFor: (ctx: KoaContextWithOIDC) => SelfRegistrationGrant | undefined;
  /** What a client ID metadata document's client gets (the open policy). */
  metadataDocumentGrant: SelfRegistrationGrant;
  /** Per-address limit on fetching metadata documents (each unknown URL costs a fetch). */
  allowMetadataDocumentFetch: (ctx: KoaContextWithOIDC, clientId: string) => Promise<boolean>;
  /** Runs on every use of a metadata document client (its row is made on first use, client-service.ts). */
  allowMetadataDocumentClient: (ctx: KoaContextWithOIDC, client: { clientId: string; clientName?: string }) => Promise<boolean>;
  /** Everything the engine fetches or posts at a client's URL goes through this (SSRF checks). */
  fetch: OutboundFetch;
};

export type DevicePages = {
  userCodeInputSource: (
    ctx: KoaContextWithOIDC,
    form: string,
    out?: { error?: string; error_description?: string },
    err?: Error & { userCode?: string },
  ) => Promise<void>;
  userCodeConfirmSource: (ctx: KoaContextWithOIDC, form: string, client: unknown, deviceInfo: { ip?: string; ua?: string }, userCode: string) => Promise<void>;
  successSource: (ctx: KoaContextWithOIDC) => Promise<void>;
};

export const ID_TOKEN_TTL_SECONDS = 3600;
// oidc-provider's default clockTolerance, for what it checks itself (client assertions, DPoP
// proofs at /token), and the key schedule's margin. Our access tokens are checked everywhere
// with access-token-check.ts's skew (5 s), which this exceeds.
export const CLOCK_SKEW_SECONDS = 15;
// No HS* anywhere: client secrets are stored hashed, so nothing can derive a MAC key from them (notes §7).
const ASYMMETRIC_ALGS: ('RS256' | 'PS256' | 'ES256' | 'EdDSA')[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export const SESSION_TTL_SECONDS = 14 * 86_400;
// Anyone can start an interaction with a GET /auth; most that never lead to a sign-in are bots or
// abandoned tabs, so they get a short life (the sign-in page, its upstream round trips and
// sign-up all fit in it). Once someone has signed in, the consent step may take longer.
export const SIGN_IN_INTERACTION_TTL_SECONDS = 600;
export const SIGNED_IN_INTERACTION_TTL_SECONDS = 3600;

type ResourceIndicators = ReturnType<typeof createResourceIndicators>;

/**
 * An API's chosen algorithm signs once its key is active in this build (announced first, like any
 * rotation: signing-keys/key-lifecycle.ts); until then its tokens stay RS256, which every
 * instance can sign. Without this the engine would fail to find a key and answer 500.
 */
function signWithActiveKeys(indicators: ResourceIndicators, keys: ProviderConfigurationInputs['signingKeys']): ResourceIndicators {
  const signing = new Set(keys.filter((k) => !k.key_ops || k.key_ops.includes('sign')).map((k) => k.alg));
  return {
    ...indicators,
    async getResourceServerInfo(ctx, indicator, client) {
      const info = await indicators.getResourceServerInfo(ctx, indicator, client);
      const sign = info.jwt?.sign;
      const alg = sign ? sign.alg : undefined; // `sign` may be false (no signing)
      return alg && !signing.has(alg) ? { ...info, jwt: { ...info.jwt, sign: { alg: 'RS256' } } } : info;
    },
  };
}

/** A pure function from our inputs to oidc-provider's configuration. */
export function providerConfiguration(o: ProviderConfigurationInputs): Configuration {
  const cookies = sessionCookiePolicy(o.issuer);
  return {
    adapter: o.adapter as unknown as Configuration['adapter'],
    // Every client comes from the Client adapter (Postgres), but the account page's own (built-in-clients.ts).
    clients: [accountClientMetadata(o.issuer)],
    jwks: { keys: o.signingKeys },
    // SameSite=None; Secure session cookie, so that POST /auth from another site sees the session.
    cookies: { keys: o.cookieKeys, long: cookies.long, short: cookies.short },
    // OIDC Core §3.1.2.1: GET and POST at /auth; RP-Initiated Logout §2: at /session/end too.
    enableHttpPostMethods: cookies.enableHttpPostMethods,
    findAccount: o.findAccount,
    // RFC 9700 §2.1.2: code flow only; no implicit, no hybrid.
    responseTypes: ['code'],
    // RFC 9700 §2.1.1: PKCE for every client, confidential ones too (S256 is the only method in v9).
    pkce: { required: () => true },
    scopes: [...STANDARD_SCOPES],
    // auth_time with openid: every ID token says when the user signed in (OIDC Core §2), asked
    // for or not. sid is added by build-provider.ts (includeSid).
    claims: { openid: ['sub', 'auth_time'], email: ['email', 'email_verified'], profile: ['name'] },
    // OIDC Core §5.4: granted scope claims go in the ID token too, not only in userinfo; relying
    // parties that read only the ID token (Auth.js) otherwise get a user with no name or email.
    conformIdTokenClaims: false,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    fetchResponseBodyLimits: { jwks_uri: 64 * 1024 }, // a private_key_jwt client's keys
    enabledJWA: {
      clientAuthSigningAlgValues: ASYMMETRIC_ALGS,
      requestObjectSigningAlgValues: ASYMMETRIC_ALGS,
      // What the engine signs itself (ID tokens, logout tokens) stays RS256 whatever keys an API's
      // choice of algorithm adds to the keystore: discovery keeps saying so.
      idTokenSigningAlgValues: ['RS256'],
    },
    extraClientMetadata: {
      properties: [...EXTRA_CLIENT_METADATA], // client-extras.ts
      // A client that registers itself (RFC 7591, RFC 7592 update) or is described by a metadata
      // document gets what its grant allows, whatever it asked (self-registration.ts). The engine
      // gives ctx only while registering or updating; stored clients are taken as they are.
      validator(ctx, key, _value, metadata) {
        if (key !== 'allowed_resources') return; // the first property: the whole metadata, once
        const grant = ctx
          ? ctx.oidc.route === 'client_update'
            ? grantOfExistingClient(ctx.oidc.client!.metadata() as Record<string, unknown>)
            : o.registrationGrantFor(ctx)
          : isMetadataDocumentClientId(metadata.client_id)
            ? o.metadataDocumentGrant
            : undefined;
        // Token mode with a token the engine knows but that grants nothing (its grant was swept): refused.
        if (ctx && !grant) throw new errors.InvalidToken('initial access token not found');
        if (grant) applySelfRegistration(metadata as Record<string, unknown>, grant);
      },
    },
    // Browsers may call the token and userinfo endpoints only from a public client's own origins.
    clientBasedCORS(ctx, origin, client) {
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },
    features: {
      devInteractions: { enabled: false }, // on by default: any username would sign in (notes §3)
      // Our keys reach the engine as ExternalSigningKeys: it hands us the signing input and we
      // sign (node:crypto off the event loop, or a KMS): engine-signing-keys.ts.
      externalSigningSupport: { enabled: true, ack: 'experimental-01' },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §4: the token's own client, or an API's own client for that API's access tokens
        // (introspection-policy.ts; JWTs take the same policy in introspect-jwt.ts). Never about
        // a deleted client's tokens.
        allowedPolicy: async (ctx, client, token) => {
          const t = { clientId: token.clientId!, audience: (token as { aud?: unknown }).aud, isRefreshToken: token.kind === 'RefreshToken' };
          if (!mayIntrospect(client, t)) return false;
          return t.clientId === client.clientId || (await ctx.oidc.provider.Client.find(t.clientId)) !== undefined;
        },
      },
      // RFC 7009 §2.1: a client revokes only tokens issued to it.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      dPoP: { enabled: true, nonceSecret: o.dpopNonceSecret },
      resourceIndicators: signWithActiveKeys(o.resourceIndicators, o.signingKeys) as NonNullable<Configuration['features']>['resourceIndicators'],
      rpInitiatedLogout: { enabled: true, logoutSource: o.pages.logoutSource, postLogoutSuccessSource: o.pages.postLogoutSuccessSource },
      // OIDC Back-Channel Logout 1.0: clients with a backchannel_logout_uri get a logout token
      // when the user signs out (here, everywhere, or deletes the account: backchannel-logout.ts).
      backchannelLogout: { enabled: true },
      // RFC 8628. Codes: 8 of 20 consonants (≈ 34.6 bits, §6.1) guarded by a per-address
      // throttle on entry (§5.1, device-code-throttle.ts); 10 minutes to enter one.
      deviceFlow: { enabled: o.selfService.isDeviceFlowOn, charset: 'base-20', mask: '****-****', ...o.devicePages },
      // RFC 7591: with REGISTRATION=token an initial access token (made by the CLI) is required.
      registration: {
        enabled: o.selfService.registration !== 'off',
        initialAccessToken: o.selfService.registration === 'token',
        issueRegistrationAccessToken: true,
        // Hex like every other client id (an id starting with '-' would read as a CLI option).
        idFactory: () => randomBytes(16).toString('hex'),
        // 256 bits, stored as a keyed hash like operators' clients (notes §7; client-service.ts).
        secretFactory: async () => generateClientSecret(),
      },
      // RFC 7592: read, update (never widening the grant) and delete with the registration access token.
      registrationManagement: { enabled: o.selfService.registration !== 'off', rotateRegistrationAccessToken: true },
      clientIdMetadataDocument: {
        enabled: o.selfService.isClientIdMetadataDocumentOn,
        allowFetch: o.allowMetadataDocumentFetch,
        allowClient: o.allowMetadataDocumentClient as NonNullable<NonNullable<Configuration['features']>['clientIdMetadataDocument']>['allowClient'],
        ack: 'draft-02', // the draft oidc-provider 9.13 implements; a new draft is a breaking change to review
        cacheDuration: { min: 30, max: 86_400 },
      },
    },
    // SSRF: resolve, check every address, then connect to it; https, bounded (outbound-fetch.ts).
    fetch: o.fetch as unknown as Configuration['fetch'],
    ttl: {
      // Keep each API's own TTL: a fixed number here would silently override it (notes §8).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      AuthorizationCode: 60,
      DeviceCode: 600, // RFC 8628 §3.2 expires_in: ten minutes to enter the code and sign in
      IdToken: ID_TOKEN_TTL_SECONDS,
      Interaction: (_ctx, interaction) => (interaction.session?.accountId ? SIGNED_IN_INTERACTION_TTL_SECONDS : SIGN_IN_INTERACTION_TTL_SECONDS),
      // Anyone's GET /session/end stores a session for the logout form's xsrf secret: without an
      // account it lives as briefly as an interaction before sign-in, or one address could fill
      // Redis with 14-day entries. Each save recomputes it: a sign-in gives the session its 14 days.
      Session: (_ctx, session) => (session.accountId ? SESSION_TTL_SECONDS : SIGN_IN_INTERACTION_TTL_SECONDS),
      // Sliding: each rotation gets the idle time again, but never past the chain's absolute end
      // (iiat is when the chain began).
      RefreshToken(_ctx, token, client) {
        const c = clientExtras(client);
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
    // Which grant a token belongs to (as a digest), so revoking the grant revokes its JWTs too;
    // and the claims the token's API declared. oidc-provider writes its own claims over these,
    // but not all that matter (cnf of an unbound token, nbf, act): those names are refused
    // earlier (permissions/token-claims.ts), and gid goes last.
    extraTokenClaims: async (ctx, token) => {
      const { grantId } = token as { grantId?: string };
      const declared = await o.userTokenClaims?.(ctx, token);
      if (!grantId && !declared) return undefined;
      return { ...declared, ...(grantId ? { gid: grantDigest(grantId) } : {}) };
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
