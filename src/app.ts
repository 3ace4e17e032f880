import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Knex } from 'knex';
import { errors, type Provider } from 'oidc-provider';
import { LRUCache } from 'lru-cache';
import pino, { type Logger } from 'pino';
import { adminApi, adminApiResource } from './admin/admin-api.ts';
import { createAccountRepository } from './accounts/account-repository.ts';
import { createAccountService } from './accounts/account-service.ts';
import { createPasswordHasher } from './accounts/password-hashing.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { createClientRepository } from './clients/client-repository.ts';
import { createClientService } from './clients/client-service.ts';
import { createConsentRepository } from './consents/consent-repository.ts';
import { createConsentService } from './consents/consent-service.ts';
import { createSignInGrantRepository } from './consents/sign-in-grant-repository.ts';
import { resolveSecret } from './config/dev-secret.ts';
import type { Config } from './config/load-config.ts';
import { deriveSecrets } from './crypto/derive-secrets.ts';
import { createChangeNotices } from './db/change-notices.ts';
import { createDatabase } from './db/create-knex.ts';
import { runMigrations } from './db/run-migrations.ts';
import { AppError } from './errors/app-error.ts';
import { assets } from './http/assets.ts';
import { discoveryAlias } from './http/discovery-alias.ts';
import { errorHandler } from './http/error-handler.ts';
import { createForwardAuth } from './http/forward-auth.ts';
import { healthEndpoints } from './http/health.ts';
import { jwksCacheControl } from './http/jwks-cache.ts';
import { createMetrics, metricsEndpoint, registerStateGauges } from './http/metrics.ts';
import { requestLog } from './http/request-log.ts';
import { revocationFeed } from './http/revocation-feed.ts';
import { routeByPath } from './http/route-by-path.ts';
import { securityHeaders } from './http/security-headers.ts';
import { tokenRateLimit } from './http/token-rate-limit.ts';
import { interactionRoutes } from './interactions/interaction-routes.ts';
import { signInObserver } from './interactions/sign-in-observer.ts';
import { upstreamCallback } from './interactions/upstream-callback.ts';
import { createUpstreamCookies } from './interactions/upstream-cookies.ts';
import { adapterForModel } from './oidc/adapters/adapter-for-model.ts';
import { createAccountPurge } from './oidc/adapters/purge-account.ts';
import { createClientPurge } from './oidc/adapters/purge-client.ts';
import { buildProvider } from './oidc/build-provider.ts';
import { createFindAccount } from './oidc/find-account.ts';
import { introspectJwt } from './oidc/introspect-jwt.ts';
import { createLoadExistingGrant } from './oidc/load-existing-grant.ts';
import { createSignInGrants } from './oidc/sign-in-grants.ts';
import { observeProvider } from './oidc/observe-provider.ts';
import { createOwnTokenCheck, sharedDpopReplay } from './oidc/own-token-check.ts';
import { CLOCK_SKEW_SECONDS, ID_TOKEN_TTL_SECONDS } from './oidc/provider-configuration.ts';
import { pages } from './oidc/pages.ts';
import { refreshGrace } from './oidc/refresh-grace.ts';
import { revokeJwt } from './oidc/revoke-jwt.ts';
import { createResourceIndicators } from './oidc/resources.ts';
import { createRedis } from './redis/create-redis.ts';
import { createResourceRepository } from './resources/resource-repository.ts';
import { createResourceService } from './resources/resource-service.ts';
import { createPostgresRevocationList } from './revocation/postgres-revocation-list.ts';
import { createRedisRevocationList } from './revocation/redis-revocation-list.ts';
import { grantDigest } from './revocation/revocation-list.ts';
import { createSignOutEverywhere } from './revocation/sign-out-everywhere.ts';
import { createPostgresShortLivedStore, createRedisShortLivedStore } from './short-lived/short-lived-store.ts';
import { createSigningKeyRepository } from './signing-keys/signing-key-repository.ts';
import { startKeySchedule } from './signing-keys/key-schedule.ts';
import { createSigningKeyStore } from './signing-keys/signing-key-store.ts';
import { startSweeper } from './sweeper/start-sweeper.ts';
import { createSignInThrottle } from './throttle/attempt-throttle.ts';
import { createUpstreamAccounts } from './upstreams/upstream-accounts.ts';
import { createUpstreamClient } from './upstreams/upstream-client.ts';
import { createUpstreamIdentityRepository } from './upstreams/upstream-identity-repository.ts';
import { createUpstreamRepository } from './upstreams/upstream-repository.ts';
import { createUpstreamService } from './upstreams/upstream-service.ts';
import { createAccountEmails } from './mail/account-emails.ts';
import { createMailer } from './mail/create-mailer.ts';
import { createOutboxTransport, outboxDirectory } from './mail/outbox-transport.ts';
import { createSmtpTransport } from './mail/smtp-transport.ts';
import { createOneTimeTokenStore } from './one-time-tokens/one-time-token-store.ts';
import { LOG_REDACT_PATHS } from './http/log-redaction.ts';
import { createRegistrationTokens, type SelfRegistrationGrant } from './clients/registration-tokens.ts';
import { deviceCodeGuard } from './http/device-code-guard.ts';
import { createOutboundFetch, type OutboundFetchOptions } from './http/outbound-fetch.ts';
import { createRegistrationGrants, registrationGuard } from './http/registration-guard.ts';
import { resourceMetadataEndpoint } from './http/resource-metadata-endpoint.ts';
import { createAccountSignIns } from './oidc/adapters/account-sign-ins.ts';
import { createBackchannelLogout } from './oidc/backchannel-logout.ts';
import { devicePages } from './oidc/device-pages.ts';
import { createAttemptThrottle } from './throttle/attempt-throttle.ts';
import type { ThrottlePolicy } from './throttle/throttle-policy.ts';

export type GatehouseOptions = {
  logger?: Logger;
  /** Tests: run in one Postgres schema and one Redis key prefix. */
  schema?: string;
  redisKeyPrefix?: string;
  /** Tests: move time forward for the key schedule. */
  clock?: () => Date;
  /** How often each instance runs the key schedule (default 30 s). */
  keyScheduleTickMs?: number;
  /** The CLI runs no schedule and serves no HTTP. */
  isCommand?: boolean;
  /**
   * Tests only (never from the environment): let the engine's fetches reach loopback addresses,
   * plain http and a test CA (client ID metadata documents, back-channel logout receivers).
   */
  outboundFetch?: OutboundFetchOptions;
};

/**
 * The composition root: the only place that builds knex, ioredis, the Provider, the services and
 * the HTTP handler. The server and the CLI both start here.
 */
export async function createGatehouse(config: Config, options: GatehouseOptions = {}) {
  const logger = options.logger ?? pino({ level: config.logLevel, redact: LOG_REDACT_PATHS });
  const derived = deriveSecrets(await resolveSecret(config));

  const db = createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, schema: options.schema });
  const knex: Knex = db.knex;
  if (options.schema) await createSchema(knex, options.schema);
  await runMigrations(knex, options.schema, { isEmbedded: db.isEmbedded });
  const redis: Redis | undefined = config.redis
    ? createRedis(config.redis, { keyPrefix: options.redisKeyPrefix })
    : undefined;

  // Without a listener ioredis prints every connection error to stderr, outside our JSON logs;
  // /readyz reports the outage, the log says why.
  redis?.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const notices = createChangeNotices({ knex, databaseUrl: config.databaseUrl, logger });
  const metrics = createMetrics();
  const audit = createAuditLog(knex, {
    onFlushError: (err) => logger.error({ err: err.message }, 'audit write failed; retrying with the next batch'),
    onDropped: (count) => metrics.auditDropped.inc(count),
  });
  const resources = createResourceService({ repository: createResourceRepository(knex), notices, builtIn: [adminApiResource(config.issuer)], audit });
  let provider: Provider | undefined;
  const clients = createClientService({
    repository: createClientRepository(knex),
    resources,
    secretPepper: derived.clientSecretPepper,
    notices,
    maxRefreshTokenAbsoluteSeconds: config.refreshTokens.absoluteSeconds,
    audit,
    revocation: {
      // Every token issued to the client, remembered as long as any could still be valid.
      revokeTokens: async (clientId) =>
        revocations.record({ type: 'client', client_id: clientId, exp: Math.floor(Date.now() / 1000) + (await maxTokenTtlSeconds()) }),
      purgeStored: createClientPurge({ knex, redis }),
    },
    // oidc-provider's own validation, so nothing is saved that the engine would later refuse.
    validateMetadata: async (metadata) => {
      try {
        await provider!.Client.validate(metadata);
      } catch (err) {
        // The engine's verdict is bad input to our callers (CLI, admin): an AppError, not a protocol error.
        if (err instanceof errors.InvalidClientMetadata) throw new AppError(err.error, err.error_description ?? err.message);
        throw err;
      }
    },
  });
  // One bounded argon2 per process for every password check and hash (503 + Retry-After beyond it).
  const accounts = createAccountService({ repository: createAccountRepository(knex), audit, passwords: createPasswordHasher(config.argon2) });
  // Email: SMTP with SMTP_URL, else .eml files in DATA_DIR/outbox/; queued, sent off the request path.
  const mailer = createMailer({
    transport: config.mail.smtpUrl ? createSmtpTransport(config.mail.smtpUrl) : createOutboxTransport(outboxDirectory(config.dataDir)),
    from: config.mail.from,
    logger,
    onOutcome: (kind, result) => metrics.mailMessages.inc({ kind, result }),
  });
  const accountEmails = createAccountEmails({ issuer: config.issuer }); // links from ISSUER only
  const oneTimeTokens = createOneTimeTokenStore(knex); // single-use links: verification, password reset
  const consents = createConsentService({ repository: createConsentRepository(knex) });
  const signInGrants = createSignInGrants({ repository: createSignInGrantRepository(knex) });
  // The longest lifetime of anything we sign: how long keys stay published and revocations are remembered.
  const maxTokenTtlSeconds = async () => Math.max(ID_TOKEN_TTL_SECONDS, await resources.maxAccessTokenTtlSeconds());
  const signingKeys = createSigningKeyStore({
    audit,
    repository: createSigningKeyRepository(knex),
    encryptionKey: derived.keyEncryptionKey,
    now: options.clock,
    policy: async () => ({
      rotationIntervalSeconds: config.keyRotationIntervalSeconds,
      jwksMaxAgeSeconds: config.jwksMaxAgeSeconds,
      maxTokenTtlSeconds: await maxTokenTtlSeconds(),
      clockSkewSeconds: CLOCK_SKEW_SECONDS,
    }),
  });
  await signingKeys.ensureActiveKey();

  const shortLived = redis ? createRedisShortLivedStore(redis) : createPostgresShortLivedStore(knex);
  const revocations = redis
    ? createRedisRevocationList(redis, { maxTokenTtlSeconds })
    : createPostgresRevocationList(knex, { commitLagSeconds: db.isEmbedded ? 0 : 2 });
  // Back-channel logout for sign-outs outside /session/end: sign out everywhere, and account
  // deletion (its deleter calls backchannelLogout.prepare(accountId) before purging, send() after).
  const backchannelLogout = createBackchannelLogout({ provider: () => provider!, signInsOf: createAccountSignIns({ knex, redis }), audit, logger });
  const signOutEverywhere = createSignOutEverywhere({
    accounts,
    purgeAccount: createAccountPurge({ knex, redis }),
    revocations,
    maxTokenTtlSeconds,
    audit,
    backchannelLogout,
  });
  // Upstream sign-in: the redirect URI to register at each upstream is `${ISSUER}/upstream/<id>/callback`.
  const upstreams = createUpstreamService({
    fromEnvironment: config.upstreams,
    repository: createUpstreamRepository(knex, derived.upstreamSealingKey),
  });
  const upstreamDeps = {
    upstreams,
    client: createUpstreamClient({ redirectUriFor: (id) => `${config.issuer}/upstream/${id}/callback` }),
    cookies: createUpstreamCookies(derived.upstreamSealingKey),
    logger,
  };
  const upstreamAccounts = createUpstreamAccounts({ accounts, identities: createUpstreamIdentityRepository(knex) });
  const listUpstreams = async () => (await upstreams.list()).map((u) => ({ id: u.id, name: u.name }));
  const forwardAuth = createForwardAuth({ issuer: config.issuer, revocations, logger, metrics });
  const dpopReplay = sharedDpopReplay(shortLived);
  const adapter = adapterForModel({
    knex,
    redis,
    clients,
    // A destroyed grant (refresh-token reuse, a revoked refresh token, sign-out) takes its
    // already-issued JWT access tokens with it: they carry the grant's digest as `gid`. Recorded
    // before the response goes out; if it cannot be, the grant is still destroyed (its refresh
    // tokens are the bigger prize) and the failure is logged.
    onGrantDestroyed: async (grantId) => {
      try {
        const exp = Math.floor(Date.now() / 1000) + (await maxTokenTtlSeconds());
        await revocations.record({ type: 'grant', gid: grantDigest(grantId), exp });
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'recording a grant revocation failed');
      }
    },
  });
  const health = healthEndpoints([
    { name: 'postgres', check: () => knex.raw('select 1') },
    ...(redis ? [{ name: 'redis', check: () => redis.ping() }] : []),
  ]);

  /** Tells every instance the signing keys changed (the CLI and the admin API after rotate/revoke). */
  const announceKeyChange = () => notices.publish({ topic: 'signing-keys', id: '*' });
  // Built once, outside build(): their state (token buckets) survives a Provider reload.
  const limitTokenRequests = tokenRateLimit({ perSecond: config.tokenRateLimitPerSecond });
  const graceForRefresh = refreshGrace({
    store: shortLived,
    tokenPath: '/token',
    graceSecondsFor: (ctx) =>
      (ctx.oidc?.client as { refresh_token_grace_seconds?: number } | undefined)?.refresh_token_grace_seconds ??
      config.refreshTokens.graceSeconds,
  });
  const signInThrottle = createSignInThrottle(config.loginThrottle, shortLived);

  // Clients that register themselves (RFC 7591, metadata documents) and devices (RFC 8628).
  const selfService = config.selfService;
  const attempts = createAttemptThrottle({ store: shortLived });
  const registrationTokens = createRegistrationTokens({
    knex,
    resources,
    audit,
    issue: (expiresIn) => new provider!.InitialAccessToken({ expiresIn }).save(),
  });
  const registrationGrants = createRegistrationGrants();
  // The open policy: public clients of the listed APIs only. Registrations (and metadata document
  // fetches, ten times as many) per address and hour.
  const perHour = (n: number): ThrottlePolicy => ({ freeAttempts: n, blockAfter: n, blockSeconds: 3600, maxDelaySeconds: 0, windowSeconds: 3600 });
  const openGrant = async (): Promise<SelfRegistrationGrant> => {
    const apis = (await Promise.all(selfService.openApis.map((id) => resources.find(id)))).filter((a) => a !== undefined);
    return { via: 'open', apis: apis.map((a) => a.identifier), apiScopes: apis.flatMap((a) => a.scopes), mayBeConfidential: false };
  };
  const outboundFetch = createOutboundFetch(options.outboundFetch);
  const anchored = new LRUCache<string, true>({ max: 10_000 }); // metadata document clients with their row (per process)
  const guardRegistration =
    selfService.registration === 'off'
      ? undefined
      : registrationGuard({
          mode: selfService.registration,
          grants: registrationGrants,
          openGrant,
          tokenGrant: (token) => registrationTokens.grantFor(token),
          throttle: attempts,
          openPolicy: perHour(selfService.openRegistrationsPerHour),
        });

  const build = async () =>
    buildProvider({
      issuer: config.issuer,
      trustProxy: config.trustProxy,
      clientSecretPepper: derived.clientSecretPepper,
      logger,
      audit,
      signingKeys: await signingKeys.loadProviderKeys(),
      cookieKeys: derived.cookieKeys,
      dpopNonceSecret: derived.dpopNonceSecret,
      adapter,
      findAccount: createFindAccount(accounts),
      loadExistingGrant: createLoadExistingGrant({ consents, signInGrants }),
      resourceIndicators: createResourceIndicators(resources),
      pages,
      devicePages,
      selfService,
      registrationGrantFor: (ctx) => registrationGrants.get(ctx.req),
      metadataDocumentGrant: { via: 'metadata_document', apis: selfService.openApis, apiScopes: undefined, mayBeConfidential: false },
      allowMetadataDocumentFetch: async (ctx) =>
        (await attempts.take([{ scope: 'metadata-document:ip', value: ctx.ip, policy: perHour(10 * selfService.openRegistrationsPerHour) }])).isAllowed,
      allowMetadataDocumentClient: async (_ctx, client) => {
        if (!anchored.has(client.clientId)) {
          await clients.anchorMetadataDocumentClient(client.clientId, client.clientName);
          anchored.set(client.clientId, true);
        }
        return true;
      },
      fetch: outboundFetch,
      refreshTokens: config.refreshTokens,
      // One check of our own access tokens per build (its keys), for introspection, revocation and the admin API.
      middleware: (p, publicJwks, accessTokenCheck = createOwnTokenCheck({ issuer: config.issuer, publicJwks, isRevoked: (t) => revocations.isRevoked(t), dpopReplay })) => [
        forwardAuth.middleware(publicJwks), // first: it sits on every API request, and needs no request id, log line or page headers
        errorHandler(logger),
        requestLog(logger, metrics),
        securityHeaders({ isTls: config.issuer.startsWith('https://') }),
        routeByPath({
          '/token': (ctx, next) => limitTokenRequests(ctx, () => graceForRefresh(ctx, next)),
          '/token/introspection': introspectJwt({ path: '/token/introspection', check: accessTokenCheck }),
          '/token/revocation': revokeJwt({
            path: '/token/revocation',
            check: accessTokenCheck,
            revocations,
            onRevoked: (ctx, token) =>
              audit.recordSoon({ type: 'token.revoked', clientId: token.clientId, accountId: token.accountId, ip: ctx.ip, details: { kind: token.kind, jti: token.jti } }),
          }),
          '/jwks': jwksCacheControl(config.jwksMaxAgeSeconds),
          '/healthz': health,
          '/readyz': health,
          '/metrics': metricsEndpoint(metrics, { token: config.metricsToken }),
          '/assets/': assets(),
          '/.well-known/oauth-authorization-server': discoveryAlias(),
          '/resource-metadata': resourceMetadataEndpoint({ issuer: config.issuer, resources }),
          ...(selfService.isDeviceFlowOn ? { '/device': deviceCodeGuard({ throttle: attempts }) } : {}),
          ...(guardRegistration ? { '/reg': guardRegistration, '/reg/': guardRegistration } : {}),
          '/interaction/': interactionRoutes(p, {
            accounts,
            consents,
            isSignupEnabled: config.isSignupEnabled,
            listUpstreams,
            upstream: upstreamDeps,
            throttle: signInThrottle,
            audit,
            guards: {
              login: [signInObserver('login', { metrics, audit, accounts, logger })],
              signup: [signInObserver('signup', { metrics, audit, accounts, logger })],
            },
          }),
          '/upstream/': upstreamCallback({ ...upstreamDeps, accounts: upstreamAccounts, store: shortLived, audit }),
          '/revocations': revocationFeed({ provider: p, revocations }),
          '/admin/': adminApi({
            clients, resources, accounts, signOutEverywhere, signingKeys, audit, announceKeyChange,
            issuer: config.issuer, accessTokenCheck, logger,
          }),
        }),
      ],
    });

  const observed = async () => {
    const built = await build();
    observeProvider(built, { metrics, audit, logger, isTokenAuditOn: config.isTokenAuditOn });
    return built;
  };
  registerStateGauges(metrics, {
    activeKeyAgeSeconds: async () => {
      const active = (await signingKeys.listKeys()).find((k) => k.status === 'active');
      const since = active?.activatedAt ?? active?.createdAt;
      return since ? (Date.now() - since.getTime()) / 1000 : undefined;
    },
    pool: () => poolState(knex),
    isRedisReady: redis ? () => redis.status === 'ready' : undefined,
  });
  provider = await observed();
  let handle = provider.callback();
  // A key change builds a new Provider and swaps the handler; in-flight requests finish on the old one.
  const reload = async () => {
    provider = await observed();
    handle = provider.callback();
  };
  const keySchedule = options.isCommand
    ? undefined
    : startKeySchedule({
        store: signingKeys,
        notices,
        onKeysChanged: reload,
        logger,
        tickMs: options.keyScheduleTickMs ?? 30_000,
        pollMs: 5_000, // the "within seconds" guarantee holds even if a notice is lost
      });
  await keySchedule?.runOnce();
  const sweeper = options.isCommand ? undefined : startSweeper({ knex, logger, intervalMs: 60_000, auditRetentionDays: config.auditRetentionDays });
  // Serve only once invalidations from other instances and the CLI are being received.
  await notices.ready();

  return {
    config,
    logger,
    knex,
    redis,
    services: { accounts, consents, clients, resources, signingKeys, signOutEverywhere, revocations, audit, upstreams, mailer, accountEmails, oneTimeTokens, registrationTokens, backchannelLogout },
    get provider() {
      return provider!;
    },
    /** The HTTP handler; it always delegates to the current Provider. */
    callback: (req: IncomingMessage, res: ServerResponse) => handle(req, res),
    /** Builds a new Provider and swaps it in atomically. */
    reload,
    /** Runs the key schedule once now (tests; the server also runs it on a timer). */
    runKeySchedule: () => keySchedule?.runOnce(),
    /** Tells every instance the signing keys changed (the CLI after rotate/revoke). */
    announceKeyChange,
    /** Sweeps expired rows once now (tests; the server also sweeps every minute). */
    sweep: () => sweeper?.runOnce(),
    async close() {
      await Promise.all([keySchedule?.stop(), sweeper?.stop(), forwardAuth.close(), mailer.close()]);
      await audit.close();
      await notices.close();
      redis?.disconnect();
      await db.close();
    },
  };
}

export type Gatehouse = Awaited<ReturnType<typeof createGatehouse>>;

/** knex's pool (tarn) as numbers; PGlite's single pinned connection has none. */
function poolState(knex: Knex): { used: number; free: number; pending: number } | undefined {
  const pool = (knex.client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;
  return pool ? { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() } : undefined;
}

/** `create schema if not exists` is not safe against a concurrent twin: the loser gets a unique violation. */
async function createSchema(knex: Knex, schema: string): Promise<void> {
  try {
    await knex.raw('create schema if not exists ??', [schema]);
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
  }
}
