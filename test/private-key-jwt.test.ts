import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors/app-error.ts';
import { startCodeFlow } from './support/code-flow.ts';
import { oauthError } from './support/oauth-error.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'katherine@example.test', password: 'private key passphrase' };
const options = { execute: [oauth.allowInsecureRequests] };

type KeyPair = { privateKey: CryptoKey; publicJwk: JWK };
async function keyPair(alg: 'ES256' | 'PS256' | 'EdDSA', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

// RFC 7523 §2.2 / OIDC Core §9: a service authenticates with a JWT signed by its own private key;
// Gatehouse holds only the public key (inline `jwks`, or the client's `jwks_uri`) and no secret.
describe('private_key_jwt client authentication', () => {
  // The clients' jwks_uri are served on loopback http here; outside tests only https to public addresses (outbound-fetch.ts).
  const gh = useTestGatehouse({}, { outboundFetch: { allowPrivateAddresses: true, allowHttp: true } });
  let jwksServer: Server;
  let jwksUri: string;
  let inline: KeyPair;
  let remote: KeyPair;
  let inlineClientId: string;
  let remoteClientId: string;

  beforeAll(async () => {
    [inline, remote] = await Promise.all([keyPair('ES256', 'inline-1'), keyPair('PS256', 'remote-1')]);
    jwksServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [remote.publicJwk] }));
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;

    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.accounts.registerAccount(user);
    const service = await gh.services.clients.registerClient({ name: 'Keyed service', jwks: { keys: [inline.publicJwk] }, scope: 'read', resources: [API] });
    expect(service.clientSecret).toBeUndefined();
    inlineClientId = service.client.client_id;
    const web = await gh.services.clients.registerClient({
      name: 'Keyed web app',
      redirectUris: [REDIRECT_URI],
      jwksUri,
      scope: 'openid read',
      resources: [API],
    });
    expect(web.clientSecret).toBeUndefined();
    remoteClientId = web.client.client_id;
  });
  afterAll(async () => {
    await new Promise((resolve) => jwksServer?.close(resolve));
  });

  const configFor = (clientId: string, auth: oauth.ClientAuth) => oauth.discovery(new URL(gh.issuer), clientId, undefined, auth, options);

  it('registers such a client with no secret, and says so in its metadata', async () => {
    const shown = await gh.services.clients.showClient(inlineClientId);
    expect(shown).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kid: 'inline-1' }] } });
    const row = await gh.knex('clients').where({ client_id: inlineClientId }).first();
    const stored = typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata;
    expect(stored.client_secret).toBeUndefined();
    await expect(gh.services.clients.rotateClientSecret(inlineClientId)).rejects.toThrow(/no secret/);
  });

  it('issues client-credentials tokens for an assertion signed with the registered key (inline jwks)', async () => {
    const config = await configFor(inlineClientId, oauth.PrivateKeyJwt(inline.privateKey));
    const tokens = await oauth.clientCredentialsGrant(config, { scope: 'read' });
    expect(tokens.access_token.split('.')).toHaveLength(3);
    expect(tokens.scope).toBe('read');
  });

  it('exchanges an authorization code for a client whose keys are at its jwks_uri', async () => {
    const config = await configFor(remoteClientId, oauth.PrivateKeyJwt(remote.privateKey));
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid read' });
    const tokens = await flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI));
    expect(tokens.claims()?.aud).toBe(remoteClientId);
    expect(tokens.access_token.split('.')).toHaveLength(3);
  });

  it('refuses an assertion signed with another key, a secret, or none at all, with invalid_client', async () => {
    const stranger = await keyPair('ES256', 'inline-1'); // same kid, other key
    const wrongKey = await configFor(inlineClientId, oauth.PrivateKeyJwt(stranger.privateKey));
    expect(await oauthError(oauth.clientCredentialsGrant(wrongKey, { scope: 'read' }))).toMatchObject({ status: 401, error: 'invalid_client' });

    // HS256 with a key of the attacker's choosing: symmetric algorithms are off (notes §7).
    const hs256 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(inlineClientId)
      .setSubject(inlineClientId)
      .setAudience(gh.issuer)
      .setJti(randomBytes(16).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(randomBytes(32));
    const res = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: 'read',
        client_id: inlineClientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: hs256,
      }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });

    // Such a client has no secret to fall back on.
    const noAssertion = await configFor(inlineClientId, oauth.ClientSecretPost('guess'));
    expect(await oauthError(oauth.clientCredentialsGrant(noAssertion, { scope: 'read' }))).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses a replayed assertion', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'inline-1' })
      .setIssuer(inlineClientId)
      .setSubject(inlineClientId)
      .setAudience(gh.issuer)
      .setJti(randomBytes(16).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(inline.privateKey);
    const post = () =>
      fetch(`${gh.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          scope: 'read',
          client_id: inlineClientId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      });
    expect((await post()).status).toBe(200);
    const replay = await post();
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: 'invalid_client' });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a jwks_uri over plain http to another host', { jwksUri: 'http://keys.example.test/jwks.json' }],
    ['a jwks_uri that is not a URL', { jwksUri: 'keys' }],
    ['a symmetric key', { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', kid: 'hmac' }] } }],
    ['a private key', { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }] } }],
    ['an empty key set', { jwks: { keys: [] } }],
    ['both jwks and jwks_uri', { jwksUri: 'https://keys.example.test/jwks.json', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] } }],
    ['private_key_jwt without any key', { tokenEndpointAuthMethod: 'private_key_jwt' }],
    ['keys for a client that authenticates with a secret', { tokenEndpointAuthMethod: 'client_secret_basic', jwksUri: 'https://keys.example.test/jwks.json' }],
  ])('refuses to register a client with %s, saving nothing', async (_what, extra) => {
    const before = (await gh.services.clients.listClients()).length;
    await expect(gh.services.clients.registerClient({ name: 'Bad keys', scope: 'read', resources: [API], ...extra })).rejects.toBeInstanceOf(AppError);
    expect(await gh.services.clients.listClients()).toHaveLength(before);
  });
});

// oidc-provider fetches a jwks_uri through a dispatcher that refuses loopback and private
// addresses (SSRF). Only a server whose own issuer is on loopback may reach a loopback jwks_uri.
