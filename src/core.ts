import { LRUCache } from 'lru-cache';
import type { KoaContextWithOIDC } from 'oidc-provider';
import pino, { type Logger } from 'pino';
import { createAccountRepository } from './accounts/account-repository.ts';
import { createAccountService } from './accounts/account-service.ts';
import { createEmailChange } from './accounts/email-change.ts';
import { createEmailVerification } from './accounts/email-verification.ts';
import { createPasswordHasher } from './accounts/password-hashing.ts';
import { createPasswordReset } from './accounts/password-reset.ts';
import { createAccountSelfService } from './accounts/self-service.ts';
import { createUserAdmin } from './accounts/user-admin.ts';
import { createUserRecordRepository } from './accounts/user-record-repository.ts';
import { adminApiResource } from './admin/admin-api.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { createBackgroundTasks } from './background/background-tasks.ts';
import { createClientRepository } from './clients/client-repository.ts';
import { createClientService } from './clients/client-service.ts';
import { createRegistrationTokens } from './clients/registration-tokens.ts';
import { resolveSecret } from './config/dev-secret.ts';
import type { Config } from './config/load-config.ts';
import { createConsentRepository } from './consents/consent-repository.ts';
import { createConsentService } from './consents/consent-service.ts';
import { createSignInGrantRepository } from './consents/sign-in-grant-repository.ts';
import { deriveSecrets } from './crypto/derive-secrets.ts';
import { createChangeNotices, shareChangeNotices } from './db/change-notices.ts';
import { createDatabase } from './db/create-knex.ts';
import { createSchema } from './db/create-schema.ts';
import { runMigrations } from './db/run-migrations.ts';
import { LOG_REDACT_PATHS } from './http/log-redaction.ts';
import { createMetrics } from './http/metrics.ts';
import { createOutboundFetch, type OutboundFetchOptions } from './http/outbound-fetch.ts';
import { createRegistrationGrants } from './http/registration-guard.ts';
import { createAccountEmails } from './mail/account-emails.ts';
import { createMailer } from './mail/create-mailer.ts';
import { createOutboxTransport, outboxDirectory } from './mail/outbox-transport.ts';
import { createSmtpTransport } from './mail/smtp-transport.ts';
import { createAccountAccess } from './oidc/account-access.ts';
import { createAccountGrants } from './oidc/adapters/account-grants.ts';
import { createAccountSessions } from './oidc/adapters/account-sessions.ts';
import { createAccountSignIns } from './oidc/adapters/account-sign-ins.ts';
import { adapterForModel } from './oidc/adapters/adapter-for-model.ts';
import { createAccountPurge } from './oidc/adapters/purge-account.ts';
import { createClientPurge } from './oidc/adapters/purge-client.ts';
import { createBackchannelLogout } from './oidc/backchannel-logout.ts';
import { createClientMetadataValidator } from './oidc/client-metadata-validator.ts';
import { devicePages } from './oidc/device-pages.ts';
import { createEngine } from './oidc/engine.ts';
import { engineSigningKeys } from './oidc/engine-signing-keys.ts';
import { createFindAccount } from './oidc/find-account.ts';
import { createLoadExistingGrant } from './oidc/load-existing-grant.ts';
import { pages } from './oidc/pages.ts';
import { CLOCK_SKEW_SECONDS, ID_TOKEN_TTL_SECONDS, providerConfiguration } from './oidc/provider-configuration.ts';
import { createRefreshRotationRepository } from './oidc/refresh-rotation-repository.ts';
import { createResourceIndicators } from './oidc/resources.ts';
import { createSignInGrants } from './oidc/sign-in-grants.ts';
import { createTokenPermissions } from './oidc/token-permissions.ts';
import { createOneTimeTokenStore } from './one-time-tokens/one-time-token-store.ts';
import { createPermissionRepository } from './permissions/permission-repository.ts';
import { createRoleService } from './permissions/role-service.ts';
import { createRedis } from './redis/create-redis.ts';
import { createResourceRepository } from './resources/resource-repository.ts';
import { createResourceService } from './resources/resource-service.ts';
import { createRevocationList } from './revocation/create-revocation-list.ts';
import { grantRevocationRecorder } from './revocation/grant-revocation.ts';
import { createSignOutEverywhere } from './revocation/sign-out-everywhere.ts';
import { createShortLivedStore } from './short-lived/short-lived-store.ts';
import { createSigningKeyRepository } from './signing-keys/signing-key-repository.ts';
import { createSigningKeyStore } from './signing-keys/signing-key-store.ts';
import { addressGroup } from './throttle/address-group.ts';
import { createAttemptThrottle, createSignInThrottle } from './throttle/attempt-throttle.ts';
import { perHour } from './throttle/throttle-policy.ts';
import { createUpstreamIdentityRepository } from './upstreams/upstream-identity-repository.ts';
import { createUpstreamRepository } from './upstreams/upstream-repository.ts';
import { createUpstreamService } from './upstreams/upstream-service.ts';

export type CoreOptions = {
  logger?: Logger;
  /** Tests: run in one Postgres schema and one Redis key prefix. */
  schema?: string;
  redisKeyPrefix?: string;
  /** Tests: move time forward for the key schedule. */
  clock?: () => Date;
  /** Commands: beside a server running on the embedded database, use it through that server. */
  joinRunningServer?: boolean;
  /**
   * Tests only (never from the environment): let the engine's fetches reach loopback addresses,
   * plain http and a test CA (jwks_uri, client ID metadata documents, back-channel logout receivers).
   */
  outboundFetch?: OutboundFetchOptions;
};

/**
 * Storage and the services over it: everything the server and the CLI share. It builds no
 * Provider for serving and no HTTP; `app.ts` adds those for the server.
 */
export async function createCore(config: Config, options: CoreOptions = {}) {
  const logger = options.logger ?? pino({ level: config.logLevel, redact: LOG_REDACT_PATHS });
  const secrets = deriveSecrets(await resolveSecret(config));

  const db = createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, schema: options.schema, joinRunningServer: options.joinRunningServer, logger });
  const { knex } = db;
  // A server on the embedded database serves it to commands; listening at once, so a command
  // started now waits for this server instead of being refused.
  const sharing = options.joinRunningServer ? undefined : db.share?.(logger);
  if (options.schema) await createSchema(knex, options.schema);
  await runMigrations(knex, options.schema, { isEmbedded: db.isEmbedded });
  // It logs its own outages (once each); /readyz reports them.
  const redis = config.redis ? createRedis(config.redis, { keyPrefix: options.redisKeyPrefix, logger }) : undefined;
  const notices = createChangeNotices({ knex, databaseUrl: db.listenUrl, logger });
  const metrics = createMetrics();
  const audit = createAuditLog(knex, {
    onFlushError: (err) => logger.error({ err: err.message }, 'audit write failed; retrying with the next batch'),
    onDropped: (count) => metrics.auditDropped.inc(count),
  });
  const shortLived = createShortLivedStore({ knex, redis });

  const resources = createResourceService({
    repository: createResourceRepository(knex),
    notices,
    builtIn: [adminApiResource(config.issuer)],
    audit,
    // An API chose a signing algorithm: its key is announced at once (a no-op for one that has its key).
    onSigningAlgorithmsChanged: () => signingKeys.runScheduledSteps(),
  });
  // The longest lifetime of anything we sign: how long keys stay published and revocations are remembered.
  const maxTokenTtlSeconds = async () => Math.max(ID_TOKEN_TTL_SECONDS, await resources.maxAccessTokenTtlSeconds());
  const revocations = createRevocationList({ knex, redis, isEmbedded: db.isEmbedded, maxTokenTtlSeconds });
  const signingKeys = createSigningKeyStore({
    audit,
    notices, // every instance reloads its keys when they change
    repository: createSigningKeyRepository(knex),
    encryptionKey: secrets.keyEncryptionKey,
    algorithms: () => resources.signingAlgorithms(),
    now: options.clock,
    policy: async () => ({
      rotationIntervalSeconds: config.keyRotationIntervalSeconds,
      jwksMaxAgeSeconds: config.jwksMaxAgeSeconds,
      maxTokenTtlSeconds: await maxTokenTtlSeconds(),
      clockSkewSeconds: CLOCK_SKEW_SECONDS,
    }),
  });
  await signingKeys.ensureActiveKey();

  // One bounded argon2 per process for every password check and hash (503 + Retry-After beyond it).
  const accountRepository = createAccountRepository(knex);
  const accounts = createAccountService({ repository: accountRepository, audit, passwords: createPasswordHasher(config.argon2) });
  // Roles per API, user roles and attributes: what --rbac APIs' user tokens may carry.
  const roles = createRoleService({ repository: createPermissionRepository(knex), resources, accounts, revocations, maxTokenTtlSeconds, audit });
  const tokenPermissions = createTokenPermissions({ resources, roles });
  // Clients that register themselves (RFC 7591, metadata documents) and devices (RFC 8628).
  const { selfService } = config;
  const attempts = createAttemptThrottle({ store: shortLived });
  const registrationGrants = createRegistrationGrants();
  const anchored = new LRUCache<string, true>({ max: 10_000 }); // metadata document clients with their row (per process)
  // What the protocol engine is configured with, storage aside (app.ts adds storage per build).
  const engineInputs = {
    issuer: config.issuer,
    cookieKeys: secrets.cookieKeys,
    dpopNonceSecret: secrets.dpopNonceSecret,
    resourceIndicators: createResourceIndicators(resources, tokenPermissions),
    userTokenClaims: tokenPermissions.claimsFor,
    refreshTokens: config.refreshTokens,
    pages,
    devicePages,
    selfService,
    registrationGrantFor: (ctx: KoaContextWithOIDC) => registrationGrants.get(ctx.req),
    metadataDocumentGrant: { via: 'metadata_document' as const, apis: selfService.openApis, apiScopes: undefined, mayBeConfidential: false },
    allowMetadataDocumentFetch: async (ctx: KoaContextWithOIDC) =>
      (await attempts.take([{ scope: 'metadata-document:ip', value: addressGroup(ctx.ip), policy: perHour(10 * selfService.openRegistrationsPerHour) }]))
        .isAllowed,
    allowMetadataDocumentClient: async (_ctx: KoaContextWithOIDC, client: { clientId: string; clientName?: string }) => {
      if (!anchored.has(client.clientId)) {
        await clients.anchorMetadataDocumentClient(client.clientId, client.clientName);
        anchored.set(client.clientId, true);
      }
      return true;
    },
    fetch: createOutboundFetch(options.outboundFetch), // SSRF-checked: every URL a client gives us
  };
  const clients = createClientService({
    repository: createClientRepository(knex),
    resources,
    secretPepper: secrets.clientSecretPepper,
    notices,
    maxRefreshTokenAbsoluteSeconds: config.refreshTokens.absoluteSeconds,
    audit,
    revocation: {
      revokeTokens: async (clientId) =>
        revocations.record({ type: 'client', client_id: clientId, exp: Math.floor(Date.now() / 1000) + (await maxTokenTtlSeconds()) }),
      purgeStored: createClientPurge({ knex, redis }),
    },
    validateMetadata: createClientMetadataValidator({
      issuer: config.issuer,
      configuration: async () =>
        providerConfiguration({
          ...engineInputs,
          signingKeys: engineSigningKeys(await signingKeys.loadSigners()),
          adapter: () => undefined as never, // replaced by the validator: it never reaches storage
          findAccount: async () => undefined,
          loadExistingGrant: async () => undefined,
        }),
    }),
  });
  const consents = createConsentService({ repository: createConsentRepository(knex) });
  const signInGrantRepository = createSignInGrantRepository(knex);
  const signInGrants = createSignInGrants({ repository: signInGrantRepository });
  const refreshRotations = createRefreshRotationRepository(knex);
  // oidc-provider's storage and account seams: which model lives where, and a destroyed grant's tokens revoked.
  const engineStorage = {
    adapter: adapterForModel({
      knex,
      redis,
      clients,
      refreshRotations,
      onGrantDestroyed: grantRevocationRecorder({ revocations, maxTokenTtlSeconds, logger }),
    }),
    findAccount: createFindAccount(accounts),
    loadExistingGrant: createLoadExistingGrant({ consents, signInGrants }),
  };
  const engine = createEngine({
    issuer: config.issuer,
    configuration: async () => providerConfiguration({ ...engineInputs, ...engineStorage, signingKeys: engineSigningKeys(await signingKeys.loadSigners()) }),
  });
  // Back-channel logout for sign-outs outside /session/end (sign out everywhere, account deletion).
  const backchannelLogout = createBackchannelLogout({ provider: engine.current, signInsOf: createAccountSignIns({ knex, redis }), audit, logger });
  const signOutEverywhere = createSignOutEverywhere({
    accounts,
    purgeAccount: createAccountPurge({ knex, redis }),
    revocations,
    maxTokenTtlSeconds,
    audit,
    backchannelLogout,
  });
  // Email: SMTP with SMTP_URL, else .eml files in DATA_DIR/outbox/; queued, sent off the request path.
  const mailer = createMailer({
    transport: config.mail.smtpUrl ? createSmtpTransport(config.mail.smtpUrl) : createOutboxTransport(outboxDirectory(config.dataDir)),
    from: config.mail.from,
    logger,
    onOutcome: (kind, result) => metrics.mailMessages.inc({ kind, result }),
  });
  const emails = { tokens: createOneTimeTokenStore(knex), emails: createAccountEmails({ issuer: config.issuer }), mailer, audit }; // links from ISSUER only
  // The account lifecycle: verification links, password reset, the operators' users commands.
  const tasks = createBackgroundTasks({ logger }); // off the request path (a reset request answers alike for every address)
  const verification = createEmailVerification({ accounts, ...emails });
  const passwordReset = createPasswordReset({ accounts, ...emails, signOutEverywhere, tasks });
  const users = createUserAdmin({
    accounts,
    repository: accountRepository,
    records: createUserRecordRepository(knex),
    tokens: emails.tokens,
    passwordReset,
    signOutEverywhere,
    audit,
  });
  const services = {
    audit,
    metrics,
    shortLived,
    revocations,
    resources,
    roles,
    signingKeys,
    clients,
    accounts,
    consents,
    signInGrants,
    signOutEverywhere,
    backchannelLogout,
    // Initial access tokens are the engine's own (stored through its adapter); what they grant is ours.
    registrationTokens: createRegistrationTokens({
      knex,
      resources,
      audit,
      issue: async (expiresIn) => new (await engine.current()).InitialAccessToken({ expiresIn }).save(),
    }),
    verification,
    passwordReset,
    tasks,
    users,
    // The signed-in person's own page (/account): their changes, their sessions and applications.
    emailChange: createEmailChange({ accounts, ...emails }),
    selfService: createAccountSelfService({
      accounts,
      identities: createUpstreamIdentityRepository(knex),
      users,
      signOutEverywhere,
      tokens: emails.tokens,
      audit,
      throttle: createSignInThrottle(config.loginThrottle, shortLived),
    }),
    accountAccess: createAccountAccess({
      provider: engine.current,
      sessions: createAccountSessions({ knex, redis }),
      grantsOf: createAccountGrants(knex),
      signInGrants: signInGrantRepository,
      consents,
      clients,
      audit,
      logger,
    }),
    upstreams: createUpstreamService({
      issuer: config.issuer,
      fromEnvironment: config.upstreams,
      repository: createUpstreamRepository(knex, secrets.upstreamSealingKey),
    }),
    mailer,
    accountEmails: emails.emails,
    oneTimeTokens: emails.tokens, // single-use links: verification, password reset
    refreshRotations,
  };

  return {
    config,
    logger,
    secrets,
    db,
    knex,
    redis,
    notices,
    services,
    /** What every Provider is built from, but its signing keys. */
    engineInputs: { ...engineInputs, ...engineStorage },
    engine,
    /** Self-registration and devices: their throttle and the grants of registrations under way. */
    selfRegistration: { attempts, registrationGrants, perHour },
    maxTokenTtlSeconds,
    /** The embedded database, open to commands beside this server (change notices forwarded to us). */
    shareWithCommands: () => sharing && shareChangeNotices(sharing, notices),
    async close() {
      await tasks.close(); // a queued reset request may still send mail
      await mailer.close();
      await audit.close();
      await notices.close();
      redis?.disconnect();
      await sharing?.close();
      await db.close();
    },
  };
}

export type Core = Awaited<ReturnType<typeof createCore>>;
export type CoreServices = Core['services'];
