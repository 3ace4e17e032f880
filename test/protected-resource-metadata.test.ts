import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, resourceMetadataUrl, type Verifier } from '../src/verifier/index.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.prm.test/v1';
const challengeParam = (header: string | null, name: string) => new RegExp(`${name}="([^"]*)"`).exec(header ?? '')?.[1];

/** RFC 9728: a client that meets a 401 at an API finds the API's metadata, and from it Gatehouse. */
describe('protected resource metadata (RFC 9728)', () => {
  const gh = useTestGatehouse();
  let service: { id: string; secret: string };
  const servers: Server[] = [];
  const verifiers: Verifier[] = [];

  const serviceToken = async (scope: string) => {
    const res = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${btoa(`${service.id}:${service.secret}`)}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  };

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
    const { client, clientSecret } = await gh.services.clients.registerClient({ name: 'svc', resources: [API], scope: 'read' });
    service = { id: client.client_id, secret: clientSecret! };
  });
  afterAll(async () => {
    await Promise.all(verifiers.map((v) => v.close()));
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  it('puts the metadata at the well-known URL of the identifier (RFC 9728 §3.1)', () => {
    expect(resourceMetadataUrl('https://api.example.com/mcp')).toBe('https://api.example.com/.well-known/oauth-protected-resource/mcp');
    expect(resourceMetadataUrl('https://api.example.com')).toBe('https://api.example.com/.well-known/oauth-protected-resource');
    expect(resourceMetadataUrl('https://api.example.com:8443/a/b/')).toBe('https://api.example.com:8443/.well-known/oauth-protected-resource/a/b');
    expect(resourceMetadataUrl('urn:example:api')).toBeUndefined();
  });

  it("serves the verifier's document through Koa and names it in 401 and 403 challenges", async () => {
    const v = createVerifier({
      issuer: gh.issuer,
      audience: API,
      logger: { warn: () => {} },
      resourceMetadata: { scopesSupported: ['read', 'write'], resourceName: 'PRM test API' },
    });
    verifiers.push(v);
    await v.ready();
    const app = new Koa();
    app.use(v.koaMetadata());
    app.use(v.koa({ scope: 'write' }));
    app.use((ctx) => (ctx.body = 'ok'));
    const server = createServer(app.callback());
    servers.push(server);
    await once(server.listen(0, '127.0.0.1'), 'listening');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const wellKnown = '/.well-known/oauth-protected-resource/v1';
    expect(v.resourceMetadata?.url).toBe(`https://api.prm.test${wellKnown}`);
    const doc = await fetch(`${origin}${wellKnown}`);
    expect(doc.status).toBe(200);
    expect(doc.headers.get('cache-control')).toContain('max-age');
    expect(await doc.json()).toEqual({
      resource: API,
      authorization_servers: [gh.issuer],
      scopes_supported: ['read', 'write'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256']),
      resource_name: 'PRM test API',
    });

    const none = await fetch(`${origin}/reports`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer realm="${gh.issuer}", resource_metadata="https://api.prm.test${wellKnown}"`);
    const scoped = await fetch(`${origin}/reports`, { headers: { authorization: `Bearer ${await serviceToken('read')}` } });
    expect(scoped.status).toBe(403);
    expect(challengeParam(scoped.headers.get('www-authenticate'), 'error')).toBe('insufficient_scope');
    expect(challengeParam(scoped.headers.get('www-authenticate'), 'resource_metadata')).toBe(`https://api.prm.test${wellKnown}`);
    await expect(v.verify('not.a.token')).rejects.toMatchObject({ wwwAuthenticate: expect.stringContaining('resource_metadata=') });
  });

  it('takes the resource and the URL as given, and needs the option to serve anything', async () => {
    const v = createVerifier({
      issuer: gh.issuer,
      audience: ['urn:example:api', API],
      logger: { warn: () => {} },
      resourceMetadata: { resource: API, url: 'https://gateway.example/meta' },
    });
    verifiers.push(v);
    expect(v.resourceMetadata).toMatchObject({ url: 'https://gateway.example/meta', document: { resource: API } });
    const bare = createVerifier({ issuer: gh.issuer, audience: API, logger: { warn: () => {} } });
    verifiers.push(bare);
    expect(() => bare.expressMetadata()).toThrow(/resourceMetadata/);
    await expect(bare.verify('')).rejects.toMatchObject({ wwwAuthenticate: `Bearer realm="${gh.issuer}"` }); // unchanged without the option
  });

  it('gives a gateway the document of a registered API at /resource-metadata, and /forward-auth names it when asked', async () => {
    const res = await fetch(`${gh.issuer}/resource-metadata?audience=${encodeURIComponent(API)}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ resource: API, authorization_servers: [gh.issuer], scopes_supported: ['read', 'write'] });
    expect((await fetch(`${gh.issuer}/resource-metadata?audience=${encodeURIComponent('https://unknown.example')}`)).status).toBe(404);

    const metadata = 'https://api.prm.test/.well-known/oauth-protected-resource/v1';
    const q = (extra: string) => `${gh.issuer}/forward-auth?audience=${encodeURIComponent(API)}&scope=write${extra}`;
    const missing = await fetch(q(`&resource_metadata=${encodeURIComponent(metadata)}`));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe(`Bearer realm="${gh.issuer}", resource_metadata="${metadata}"`);
    const scoped = await fetch(q(`&resource_metadata=${encodeURIComponent(metadata)}`), { headers: { authorization: `Bearer ${await serviceToken('read')}` } });
    expect(scoped.status).toBe(403);
    expect(challengeParam(scoped.headers.get('www-authenticate'), 'resource_metadata')).toBe(metadata);
    // Without the parameter the challenge is as before; a bad value is the gateway's mistake (400).
    expect((await fetch(q(''))).headers.get('www-authenticate')).toBe(`Bearer realm="${gh.issuer}"`);
    expect((await fetch(q('&resource_metadata=javascript:alert(1)'))).status).toBe(400);
  });
});
