import { availableParallelism } from 'node:os';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { isSecureUrl } from '../validation/secure-url.ts';
import { type MailSettings, mailFromEnv, mailKeys, refineMail } from './mail-settings.ts';
import { refineUpstreams, type UpstreamSettings, upstreamEnvKeys, upstreamsFromEnv } from './upstream-settings.ts';

// The only code that reads the environment (STYLE.md). Every key has its default beside it.
const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Whose X-Forwarded-For/-Proto/-Host to believe: the `hops` proxies nearest to Gatehouse, or the
 * peers whose addresses are listed (addresses, CIDRs, or proxy-addr's `loopback`, `linklocal`,
 * `uniquelocal`). The client is the right-most address not written by a trusted proxy, as nginx
 * `real_ip_recursive`, Express `trust proxy` and Koa `maxIpsCount` take it.
 */
export type TrustProxy = Readonly<{ hops: number } | { addresses: readonly string[] }>;

const MAX_PROXY_HOPS = 16;

/**
 * TRUST_PROXY: unset, `false`, `0` or `no` trust no one; a number of hops; or proxy addresses.
 * `true`/`yes` used to trust the left-most X-Forwarded-For, which the client writes: refused with
 * the fix in the message rather than guessed at (too few hops would put every user behind one
 * address, too many would trust the client again).
 */
const trustProxy = z.string().transform((value, ctx): TrustProxy | undefined => {
  const v = value.trim().toLowerCase();
  if (['false', 'no', '0'].includes(v)) return undefined;
  if (v === 'true' || v === 'yes') {
    ctx.addIssue(
      'is no longer a yes/no setting: give the number of proxies in front of Gatehouse (TRUST_PROXY=1 for one nginx or load balancer) or their addresses (e.g. TRUST_PROXY=10.0.0.0/8)',
    );
    return z.NEVER;
  }
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops <= MAX_PROXY_HOPS) return { hops };
    ctx.addIssue(`must be at most ${MAX_PROXY_HOPS} proxy hops`);
    return z.NEVER;
  }
  const addresses = v.split(',').map((a) => a.trim());
  try {
    if (addresses.some((a) => !a)) throw new TypeError('an empty entry');
    proxyAddr.compile(addresses); // throws on anything that is not an address, a CIDR or a known name
    return { addresses };
  } catch (err) {
    ctx.addIssue(`must be a number of proxy hops or proxy addresses/CIDRs separated by commas (${(err as Error).message})`);
    return z.NEVER;
  }
});

export type HostPort = { host: string; port: number };

/** Where Redis is: one server (a URL), a Redis Cluster (seed nodes) or a master behind Sentinels. */
export type RedisTopology =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: HostPort[]; password?: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; masterName: string; password?: string };

const hostPortList = z
  .string()
  .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be host:port[,host:port…]')
  .transform((list) => list.split(',').map((hp) => ({ host: hp.slice(0, hp.lastIndexOf(':')), port: Number(hp.slice(hp.lastIndexOf(':') + 1)) })));

// ---- Clients that register themselves (REGISTRATION, CLIENT_ID_METADATA_DOCUMENTS) ----
/** API identifiers, comma-separated: what self-registered clients (REGISTRATION=open, metadata documents) may ask tokens for. */
const apiList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
  )
  .refine((list) => list.every(isSecureUrl), 'must be API identifiers (https:// URLs, http:// only on a loopback host), comma-separated');

const selfServiceKeys = {
  // RFC 8628 device authorization grant (devices, command-line tools); off: no endpoint, not in discovery.
  DEVICE_FLOW: booleanFromEnv.default(false),
  // RFC 7591: off (default), token (an initial access token from `gatehouse registration-tokens create`),
  // open (anyone, within the open policy: public clients, REGISTRATION_OPEN_APIS only, per-address rate).
  REGISTRATION: z.enum(['off', 'token', 'open']).default('off'),
  REGISTRATION_OPEN_APIS: apiList.optional(),
  REGISTRATION_OPEN_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(10),
  // draft-ietf-oauth-client-id-metadata-document: an https URL as client_id; same policy as open registration.
  CLIENT_ID_METADATA_DOCUMENTS: booleanFromEnv.default(false),
};

export type SelfServiceSettings = Readonly<{
  isDeviceFlowOn: boolean;
  registration: 'off' | 'token' | 'open';
  /** The APIs (all their scopes) open registrations and metadata-document clients may use. */
  openApis: readonly string[];
  /** Open registrations per client address and hour. */
  openRegistrationsPerHour: number;
  isClientIdMetadataDocumentOn: boolean;
}>;
// ---- end of self-registered clients ----

const schema = z
  .object({
    NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    // Instead of REDIS_URL: a Redis Cluster (seed nodes) or a master found through Sentinels,
    // as comma-separated host:port lists; REDIS_PASSWORD authenticates to the data nodes.
    REDIS_CLUSTER_NODES: hostPortList.optional(),
    REDIS_SENTINELS: hostPortList.optional(),
    REDIS_SENTINEL_MASTER: z.string().min(1).default('mymaster'),
    REDIS_PASSWORD: z.string().min(1).optional(),
    DATA_DIR: z.string().min(1).default('./data'),
    GATEHOUSE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    TRUST_PROXY: trustProxy.optional(),
    WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
    // A new signing key every N days; announced in the JWKS before it signs.
    KEY_ROTATION_DAYS: z.coerce.number().min(1).max(365).default(30),
    // How long resource servers may cache the JWKS (Cache-Control max-age); keys are announced at least this long.
    JWKS_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
    // Refresh tokens: a replay of a just-rotated token inside the grace window gets the same
    // answer; unused for the idle time, or older than the absolute time, a chain ends.
    REFRESH_TOKEN_GRACE_SECONDS: z.coerce.number().int().min(0).max(300).default(10),
    REFRESH_TOKEN_IDLE_DAYS: z.coerce.number().min(0.01).max(3650).default(14),
    REFRESH_TOKEN_ABSOLUTE_DAYS: z.coerce.number().min(0.01).max(3650).default(90),
    // Audit events older than this are swept.
    AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
    // Anyone may create an account from the sign-in page; false hides the link and answers 404.
    SIGNUP_ENABLED: booleanFromEnv.default(true),
    // Every sign-up gets a verification link. `optional`: unverified users sign in (their
    // email_verified is false); `required`: a sign-in stops at "check your inbox" until the address
    // is verified (an upstream that vouches for the address counts as verified).
    EMAIL_VERIFICATION: z.enum(['optional', 'required']).default('optional'),
    ...upstreamEnvKeys,
    // Sign-in throttling per email: this many failures free, then waits of 1 s, 2 s, 4 s … (at most
    // 60 s), and from LOGIN_THROTTLE_BLOCK_AFTER failures a block of LOGIN_THROTTLE_BLOCK_SECONDS.
    // Per client IP (failed sign-ins, and every sign-up) the counts are LOGIN_THROTTLE_IP_FACTOR times higher.
    LOGIN_THROTTLE_FREE_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(5),
    LOGIN_THROTTLE_BLOCK_AFTER: z.coerce.number().int().min(1).max(10_000).default(10),
    LOGIN_THROTTLE_BLOCK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
    LOGIN_THROTTLE_IP_FACTOR: z.coerce.number().int().min(1).max(1000).default(10),
    // argon2 (sign-in, sign-up) per process: this many computations at once ('auto': this process's
    // share of the cores, cores / WORKERS), ARGON2_MAX_QUEUED more waiting (default 8 per running
    // one); beyond that the page answers 503 with Retry-After instead of pinning every core.
    ARGON2_CONCURRENCY: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default('auto'),
    ARGON2_MAX_QUEUED: z.coerce.number().int().min(0).max(100_000).optional(),
    // Token requests per second per client on each instance (a token bucket with a burst of twice that); 0 = no limit.
    TOKEN_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000).default(1000),
    // New authorization requests (GET/POST /auth, and PAR without client credentials) per client
    // address per minute, over all instances (counted in Redis, or Postgres without it); 0 = no limit.
    AUTHORIZATION_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(120),
    // /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` when set; unset, it is open (restrict it in the network).
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    // Every token issued goes to the audit trail (buffered writes); false keeps sign-ins, changes and revocations only.
    AUDIT_TOKENS_ISSUED: booleanFromEnv.default(true),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ...mailKeys,
    ...selfServiceKeys,
  })
  .superRefine((env, ctx) => {
    refineMail(env, ctx);
    refineUpstreams(env, ctx);
    const redisKinds = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].filter((k) => (env as Record<string, unknown>)[k] !== undefined);
    if (redisKinds.length > 1) {
      ctx.addIssue({ code: 'custom', path: [redisKinds[1]!], message: `cannot be combined with ${redisKinds[0]}: choose one Redis topology` });
    }
    if (env.LOGIN_THROTTLE_BLOCK_AFTER < env.LOGIN_THROTTLE_FREE_ATTEMPTS) {
      ctx.addIssue({ code: 'custom', path: ['LOGIN_THROTTLE_BLOCK_AFTER'], message: 'must be at least LOGIN_THROTTLE_FREE_ATTEMPTS' });
    }
    if (env.NODE_ENV !== 'production') return;
    if (!env.GATEHOUSE_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['GATEHOUSE_SECRET'], message: 'is required when NODE_ENV=production' });
    }
    // RFC 9700 §2.6 / OAuth 2.0 requires TLS; behind a terminator the issuer may be https while we listen on http.
    const issuer = env.ISSUER ?? `http://localhost:${env.PORT}`;
    if (issuer.startsWith('http://') && !env.TRUST_PROXY) {
      ctx.addIssue({
        code: 'custom',
        path: ['ISSUER'],
        message: 'must be https:// in production (or set TRUST_PROXY to the TLS terminator: a hop count or its address)',
      });
    }
  });

export type Config = Readonly<{
  isProduction: boolean;
  port: number;
  host: string;
  issuer: string;
  databaseUrl: string | undefined;
  /** Redis, if any: REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS. */
  redis: RedisTopology | undefined;
  dataDir: string;
  /** Undefined outside production means "use the generated dev secret in dataDir". */
  secret: string | undefined;
  /** Undefined: no proxy is trusted, X-Forwarded-* are ignored. */
  trustProxy: TrustProxy | undefined;
  workers: number | 'auto';
  keyRotationIntervalSeconds: number;
  jwksMaxAgeSeconds: number;
  refreshTokens: Readonly<{ graceSeconds: number; idleSeconds: number; absoluteSeconds: number }>;
  auditRetentionDays: number;
  isSignupEnabled: boolean;
  /** EMAIL_VERIFICATION=required: no sign-in completes without a verified address. */
  isEmailVerificationRequired: boolean;
  /** Upstreams from the environment (the CLI stores more in the database). */
  upstreams: readonly UpstreamSettings[];
  loginThrottle: Readonly<{ freeAttempts: number; blockAfter: number; blockSeconds: number; ipFactor: number }>;
  /** Per client and instance; 0 = no limit. */
  tokenRateLimitPerSecond: number;
  /** Bound on argon2 work in this process (sign-in, sign-up). */
  argon2: Readonly<{ maxConcurrent: number; maxQueued: number }>;
  /** /auth requests per client address per minute, over all instances; 0 = no limit. */
  authorizationRateLimitPerMinute: number;
  metricsToken: string | undefined;
  isTokenAuditOn: boolean;
  logLevel: string;
  mail: MailSettings;
  selfService: SelfServiceSettings;
}>;

/** `auto`: the cores this process may count on, i.e. its share when WORKERS processes run on the host. */
function argon2Limit(concurrency: number | 'auto', maxQueued: number | undefined, workers: number | 'auto') {
  const cores = availableParallelism();
  const processes = workers === 'auto' ? cores : workers;
  const maxConcurrent = concurrency === 'auto' ? Math.max(1, Math.floor(cores / processes)) : concurrency;
  return { maxConcurrent, maxQueued: maxQueued ?? 8 * maxConcurrent };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** Parses the environment once; throws ConfigError naming every invalid key. */
/** The process's own environment, for its entry point (src/cli/main.ts): read here, nowhere else. */
export const processEnvironment = (): NodeJS.ProcessEnv => process.env;

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(
    // Treat empty strings as unset: `FOO= npm start` should mean the default, not an invalid value.
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'} ${i.message}`));
  }
  const e = parsed.data;
  return Object.freeze({
    isProduction: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    issuer: (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    databaseUrl: e.DATABASE_URL,
    redis: e.REDIS_CLUSTER_NODES
      ? { kind: 'cluster' as const, nodes: e.REDIS_CLUSTER_NODES, password: e.REDIS_PASSWORD }
      : e.REDIS_SENTINELS
        ? { kind: 'sentinel' as const, sentinels: e.REDIS_SENTINELS, masterName: e.REDIS_SENTINEL_MASTER, password: e.REDIS_PASSWORD }
        : e.REDIS_URL
          ? { kind: 'single' as const, url: e.REDIS_URL }
          : undefined,
    dataDir: e.DATA_DIR,
    secret: e.GATEHOUSE_SECRET,
    trustProxy: e.TRUST_PROXY,
    workers: e.WORKERS,
    keyRotationIntervalSeconds: Math.round(e.KEY_ROTATION_DAYS * 86_400),
    jwksMaxAgeSeconds: e.JWKS_MAX_AGE_SECONDS,
    refreshTokens: Object.freeze({
      graceSeconds: e.REFRESH_TOKEN_GRACE_SECONDS,
      idleSeconds: Math.round(e.REFRESH_TOKEN_IDLE_DAYS * 86_400),
      absoluteSeconds: Math.round(e.REFRESH_TOKEN_ABSOLUTE_DAYS * 86_400),
    }),
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    isSignupEnabled: e.SIGNUP_ENABLED,
    isEmailVerificationRequired: e.EMAIL_VERIFICATION === 'required',
    upstreams: Object.freeze(upstreamsFromEnv(e)),
    loginThrottle: Object.freeze({
      freeAttempts: e.LOGIN_THROTTLE_FREE_ATTEMPTS,
      blockAfter: e.LOGIN_THROTTLE_BLOCK_AFTER,
      blockSeconds: e.LOGIN_THROTTLE_BLOCK_SECONDS,
      ipFactor: e.LOGIN_THROTTLE_IP_FACTOR,
    }),
    tokenRateLimitPerSecond: e.TOKEN_RATE_LIMIT_PER_SECOND,
    argon2: Object.freeze(argon2Limit(e.ARGON2_CONCURRENCY, e.ARGON2_MAX_QUEUED, e.WORKERS)),
    authorizationRateLimitPerMinute: e.AUTHORIZATION_RATE_LIMIT_PER_MINUTE,
    metricsToken: e.METRICS_TOKEN,
    isTokenAuditOn: e.AUDIT_TOKENS_ISSUED,
    logLevel: e.LOG_LEVEL,
    mail: mailFromEnv(e),
    selfService: Object.freeze({
      isDeviceFlowOn: e.DEVICE_FLOW,
      registration: e.REGISTRATION,
      openApis: Object.freeze(e.REGISTRATION_OPEN_APIS ?? []),
      openRegistrationsPerHour: e.REGISTRATION_OPEN_PER_HOUR,
      isClientIdMetadataDocumentOn: e.CLIENT_ID_METADATA_DOCUMENTS,
    }),
  });
}
