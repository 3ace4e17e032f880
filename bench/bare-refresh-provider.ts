// The refresh-grant comparison target: a bare oidc-provider on Redis (a minimal adapter: JSON
// strings, a consumed flag, grant indexes), rotating refresh tokens, RS256 JWT access tokens for
// one API and ID tokens, no middleware of ours. It seeds BENCH_REFRESH_TOKENS refresh tokens (one
// grant each) through its own models and prints them. Started by bench/refresh-grant.ts.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { type Adapter, type AdapterPayload, type JWK, Provider } from 'oidc-provider';

const port = Number(process.env.PORT);
const { BENCH_CLIENT_ID: clientId, BENCH_CLIENT_SECRET: clientSecret, BENCH_API: api, REDIS_URL: redisUrl } = process.env;
const count = Number(process.env.BENCH_REFRESH_TOKENS ?? 100);
if (!port || !clientId || !clientSecret || !api || !redisUrl)
  throw new Error('bare-refresh-provider needs PORT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_API and REDIS_URL');

const prefix = `bench-bare:${randomBytes(4).toString('hex')}:`;
const redis = new Redis(redisUrl, { keyPrefix: prefix });
class RedisAdapter implements Adapter {
  model: string;
  constructor(model: string) {
    this.model = model;
  }
  key = (id: string) => `${this.model}:${id}`;
  async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
    const multi = redis.multi().set(this.key(id), JSON.stringify(payload), 'EX', expiresIn);
    if (payload.grantId) multi.rpush(`grant:${payload.grantId}`, this.key(id)).expire(`grant:${payload.grantId}`, expiresIn);
    await multi.exec();
  }
  async find(id: string) {
    const [data, consumed] = await Promise.all([redis.get(this.key(id)), redis.get(`${this.key(id)}:consumed`)]);
    return data ? { ...JSON.parse(data), ...(consumed ? { consumed: Number(consumed) } : {}) } : undefined;
  }
  async consume(id: string) {
    await redis.set(`${this.key(id)}:consumed`, String(Math.floor(Date.now() / 1000)), 'EX', 3600);
  }
  async destroy(id: string) {
    await redis.del(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    const keys = await redis.lrange(`grant:${grantId}`, 0, -1);
    await redis.del(...keys.map((k) => k), `grant:${grantId}`);
  }
  async findByUid() {
    return undefined;
  }
  async findByUserCode() {
    return undefined;
  }
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' } as JWK;
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  adapter: RedisAdapter,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  rotateRefreshToken: true,
  ttl: { Grant: 14 * 86_400, RefreshToken: 86_400, AccessToken: 600, IdToken: 3600 },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: () => true,
      defaultResource: () => api,
      getResourceServerInfo: () => ({ scope: 'read', audience: api, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
});

const client = (await provider.Client.find(clientId))!;
const tokens: string[] = [];
for (let i = 0; i < count; i += 1) {
  const accountId = `user-${i}`;
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope('openid offline_access');
  grant.addResourceScope(api, 'read');
  const grantId = await grant.save();
  const rt = new provider.RefreshToken({
    client,
    accountId,
    grantId,
    scope: 'openid offline_access read',
    resource: api,
    gty: 'authorization_code',
    iiat: Math.floor(Date.now() / 1000),
    authTime: Math.floor(Date.now() / 1000),
  } as never);
  tokens.push(await rt.save());
}

const server = createServer(provider.callback());
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: issuer, refreshTokens: tokens })}\n`));
const stop = () =>
  server.close(async () => {
    let cursor = '0';
    const bare = new Redis(redisUrl);
    do {
      const [next, keys] = await bare.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await bare.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    bare.disconnect();
    redis.disconnect();
    process.exit(0);
  });
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
