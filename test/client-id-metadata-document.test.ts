import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';
import { selfSignedCertificate } from './support/test-tls.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.cimd.test';
const OTHER_API = 'https://other.cimd.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'cimd-user@example.test', password: 'correct horse battery staple' };

/** An https server of client ID metadata documents on 127.0.0.1, counting fetches per path. */
async function documentServer(tls: { key: string; cert: string }) {
  const documents = new Map<string, { body: string; cacheControl?: string }>();
  const fetches = new Map<string, number>();
  const server: Server = createServer(tls, (req, res) => {
    fetches.set(req.url!, (fetches.get(req.url!) ?? 0) + 1);
    const doc = documents.get(req.url!);
    if (!doc) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', ...(doc.cacheControl ? { 'cache-control': doc.cacheControl } : {}) }).end(doc.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    fetchesOf: (path: string) => fetches.get(path) ?? 0,
    /** Serves `metadata` (client_id defaults to its own URL) at `path`; returns the URL. */
    serve(path: string, metadata: Record<string, unknown> | string, cacheControl = 'max-age=300') {
      const url = `${origin}${path}`;
      documents.set(path, { body: typeof metadata === 'string' ? metadata : JSON.stringify({ client_id: url, ...metadata }), cacheControl });
      return url;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const publicClient = {
  client_name: 'Doc App',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code'],
  response_types: ['code'],
};

async function authorizeUrl(gh: TestGatehouse, clientId: string, params: Record<string, string>) {
  const url = new URL(`${gh.issuer}/auth`);
  for (const [k, v] of Object.entries({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    code_challenge: 'x'.repeat(43),
    code_challenge_method: 'S256',
    state: 'st',
    ...params,
  }))
    url.searchParams.set(k, v);
  return url;
}

describe('client ID metadata documents (CLIENT_ID_METADATA_DOCUMENTS=true)', () => {
  const tls = selfSignedCertificate();
  const gh = useTestGatehouse(
    { CLIENT_ID_METADATA_DOCUMENTS: 'true', REGISTRATION_OPEN_APIS: API },
    { outboundFetch: { allowPrivateAddresses: true, ca: tls.cert } },
  );
  let docs: Awaited<ReturnType<typeof documentServer>>;

  beforeAll(async () => {
    docs = await documentServer(tls);
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    await gh.services.resources.createResource({ identifier: OTHER_API, scope: 'admin' });
    await gh.services.accounts.registerAccount(user);
  });
  afterAll(async () => {
    await docs?.close();
  });

  it('signs a user in for a client known only by its https URL, with the open APIs and the scopes its document names', async () => {
    const clientId = docs.serve('/apps/doc-app.json', { ...publicClient, scope: 'openid read' });
    const config = await oauth.discovery(new URL(gh.issuer), clientId, undefined, oauth.None(), { execute: [oauth.allowInsecureRequests] });
    expect(config.serverMetadata().client_id_metadata_document_supported).toBe(true);
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid read', resource: API, prompt: 'consent' });
    const tokens = await flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI), { resource: API });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { audience: API, issuer: gh.issuer });
    expect(payload).toMatchObject({ client_id: clientId, scope: 'read' });
    // Fetched once for the authorization request and the code exchange (cached per Cache-Control).
    expect(docs.fetchesOf('/apps/doc-app.json')).toBe(1);
    await expect(gh.services.clients.showClient(clientId)).resolves.toMatchObject({ self_registered: 'metadata_document', client_name: 'Doc App' });
  });

  it('gives a document no operator privileges, whatever it claims', async () => {
    const clientId = docs.serve('/apps/pretender.json', {
      ...publicClient,
      scope: 'read',
      first_party: true,
      can_introspect: true,
      allowed_resources: [OTHER_API],
      allowed_api_scopes: ['admin'],
    });
    const res = await fetch(await authorizeUrl(gh, clientId, { scope: 'admin', resource: OTHER_API }), { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
    // And it is asked for consent (not first-party): the sign-in leads to the consent page.
    const url = await authorizeUrl(gh, clientId, { scope: 'read', resource: API });
    const ua = createUserAgent();
    const login = await ua.get((await ua.get(url.href)).headers.get('location')!.replace(/^\//, `${gh.issuer}/`));
    expect(await login.text()).toContain('name="password"');
  });

  it('refuses a document that names another client_id, is too large, or answers with an error', async () => {
    const wrong = docs.serve('/apps/wrong.json', { ...publicClient, client_id: 'https://elsewhere.example/app.json' });
    const big = docs.serve('/apps/big.json', { ...publicClient, client_name: 'x'.repeat(6000) });
    for (const clientId of [wrong, big, `${docs.origin}/apps/missing.json`]) {
      const res = await fetch(await authorizeUrl(gh, clientId, { scope: 'read' }), { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(res.status).toBe(400); // a page, not a redirect: the client itself is not trusted
      expect(await res.text()).toMatch(/invalid_client/);
    }
  });
});

describe('client ID metadata documents: server-side request forgery', () => {
  const tls = selfSignedCertificate();
  // As in production: no test allowance, so this machine's addresses are out of reach.
  const gh = useTestGatehouse({ CLIENT_ID_METADATA_DOCUMENTS: 'true', REGISTRATION_OPEN_APIS: API });
  let docs: Awaited<ReturnType<typeof documentServer>>;

  beforeAll(async () => {
    docs = await documentServer(tls);
  });
  afterAll(async () => {
    await docs?.close();
  });

  it('never fetches a client_id that points at a loopback or private address', async () => {
    const path = '/internal/admin.json';
    const byAddress = docs.serve(path, publicClient);
    const byName = byAddress.replace('127.0.0.1', 'localhost');
    for (const clientId of [byAddress, byName, 'https://169.254.169.254/latest/meta-data/', 'https://10.0.0.1/app.json', 'https://[::1]/app.json']) {
      const res = await fetch(await authorizeUrl(gh, clientId, { scope: 'openid' }), { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(res.status, clientId).toBe(400);
      expect(await res.text()).toMatch(/invalid_client/);
    }
    expect(docs.fetchesOf(path)).toBe(0); // not one request reached the server
  });
});
