// The library peer: @jmondi/oauth2-server (client credentials) on node:http, in-memory
// repositories, RS256 access tokens signed synchronously with jsonwebtoken on a KeyObject (the
// library's JwtService with an RS256 key). No database, no Redis. Started by
// bench/token-endpoint.ts as a child process; PORT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_API.
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import {
  AuthorizationServer,
  DateInterval,
  JwtService,
  type OAuthClient,
  type OAuthClientRepository,
  OAuthException,
  OAuthRequest,
  type OAuthScope,
  type OAuthScopeRepository,
  type OAuthToken,
  type OAuthTokenRepository,
} from '@jmondi/oauth2-server';
import jwt from 'jsonwebtoken';

const port = Number(process.env.PORT);
const clientId = process.env.BENCH_CLIENT_ID;
const clientSecret = process.env.BENCH_CLIENT_SECRET;
const api = process.env.BENCH_API;
if (!port || !clientId || !clientSecret || !api) throw new Error('peer-jmondi needs PORT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET and BENCH_API');

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = randomBytes(8).toString('hex');
const issuer = `http://127.0.0.1:${port}`;

/** RS256 at+jwt, signed synchronously (jsonwebtoken → jws → crypto.sign on the event loop). */
class Rs256Jwt extends JwtService {
  constructor() {
    super('unused');
  }
  override sign(payload: Record<string, unknown>): Promise<string> {
    return Promise.resolve(jwt.sign({ ...payload, aud: api }, privateKey, { algorithm: 'RS256', keyid: kid, header: { alg: 'RS256', typ: 'at+jwt' } }));
  }
}

const read: OAuthScope = { name: 'read' };
const client: OAuthClient = { id: clientId, name: 'bench', secret: clientSecret, allowedGrants: ['client_credentials'], redirectUris: [], scopes: [read] };
const secret = Buffer.from(clientSecret);
const clients: OAuthClientRepository = {
  getByIdentifier: async (id) => {
    if (id !== clientId) throw OAuthException.invalidClient();
    return client;
  },
  isClientValid: async (grantType, c, presented) => {
    const p = Buffer.from(presented ?? '');
    return c.allowedGrants.includes(grantType) && p.length === secret.length && timingSafeEqual(p, secret);
  },
};
const scopes: OAuthScopeRepository = {
  getAllByIdentifiers: async (names) => names.filter((n) => n === 'read').map(() => read),
  finalize: async (s) => s,
};
const tokens: OAuthTokenRepository = {
  issueToken: async (c, s, user) => ({
    accessToken: randomBytes(32).toString('base64url'),
    accessTokenExpiresAt: new Date(Date.now() + 600_000),
    client: c,
    user,
    scopes: s,
  }),
  issueRefreshToken: async (t: OAuthToken) => t,
  persist: async () => {},
  revoke: async () => {},
  isRefreshTokenRevoked: async () => false,
  getByRefreshToken: async () => {
    throw OAuthException.invalidParameter('refresh_token');
  },
};
const server = new AuthorizationServer(clients, tokens, scopes, new Rs256Jwt(), { issuer });
server.enableGrantType(['client_credentials', new DateInterval('10m')]);

const http = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/token') {
    res.writeHead(404).end();
    return;
  }
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    text += chunk;
  });
  req.on('end', async () => {
    let status = 200;
    let body: unknown;
    try {
      const request = new OAuthRequest({ headers: req.headers as Record<string, string>, body: Object.fromEntries(new URLSearchParams(text)) });
      const response = await server.respondToAccessTokenRequest(request);
      status = response.status;
      body = response.body;
    } catch (err) {
      const e = err as { status?: number; error?: string; message: string };
      status = e.status ?? 500;
      body = { error: e.error ?? 'server_error', error_description: e.message };
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' });
    res.end(JSON.stringify(body));
  });
});
http.keepAliveTimeout = 5_000;
http.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: issuer })}\n`));
const stop = () => http.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
