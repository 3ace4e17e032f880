import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessTokens, tamperSignature } from './support/access-tokens.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.admin-test.example';
const options = { execute: [oauth.allowInsecureRequests] };

describe('admin API', () => {
  const gh = useTestGatehouse();
  let adminAudience: string;
  let opsClientId: string;
  let adminToken: string;
  let apiToken: string;

  const call = (method: string, path: string, token: string | undefined, body?: unknown) =>
    fetch(`${gh.issuer}/admin/v1${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const json = async (res: Response) => ({ status: res.status, body: res.status === 204 ? undefined : await res.json() });

  async function clientCredentialsToken(clientId: string, secret: string, resource: string, scope: string) {
    const config = await oauth.discovery(new URL(gh.issuer), clientId, undefined, oauth.ClientSecretBasic(secret), options);
    return (await oauth.clientCredentialsGrant(config, { resource, scope })).access_token;
  }

  beforeAll(async () => {
    adminAudience = `${gh.issuer}/admin`;
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    // The operator's automation: a client_credentials client of the built-in admin API.
    const ops = await gh.services.clients.registerClient({
      name: 'ops automation',
      grantTypes: ['client_credentials'],
      resources: [adminAudience],
      scope: 'admin',
    });
    opsClientId = ops.client.client_id;
    adminToken = await clientCredentialsToken(opsClientId, ops.clientSecret!, adminAudience, 'admin');
    const service = await gh.services.clients.registerClient({ name: 'ordinary service', grantTypes: ['client_credentials'], resources: [API], scope: 'read' });
    apiToken = await clientCredentialsToken(service.client.client_id, service.clientSecret!, API, 'read');
  });

  it('manages clients with a client_credentials admin token: create (secret once), show, rotate, list, delete', async () => {
    const created = await json(
      await call('POST', '/clients', adminToken, { name: 'Billing', grant_types: ['client_credentials'], resources: [API], scope: 'read' }),
    );
    expect(created.status).toBe(201);
    expect(created.body.client_secret).toMatch(/^[\w-]{43}$/);
    const id = created.body.client_id as string;
    // The new client works at the token endpoint with the secret it was given.
    await expect(clientCredentialsToken(id, created.body.client_secret, API, 'read')).resolves.toBeTruthy();

    const shown = await json(await call('GET', `/clients/${id}`, adminToken));
    expect(shown).toMatchObject({ status: 200, body: { client_id: id, client_name: 'Billing' } });
    expect(shown.body.client_secret).toBeUndefined();
    const rotated = await json(await call('POST', `/clients/${id}/rotate-secret`, adminToken));
    expect(rotated.body.client_secret).not.toBe(created.body.client_secret);
    const listed = await json(await call('GET', '/clients', adminToken));
    expect(listed.body.map((c: { client_id: string }) => c.client_id)).toContain(id);
    expect(listed.body.every((c: Record<string, unknown>) => !('client_secret' in c))).toBe(true);
    expect((await call('DELETE', `/clients/${id}`, adminToken)).status).toBe(204);
    expect(await json(await call('GET', `/clients/${id}`, adminToken))).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('registers post-logout redirect URIs, native apps and private_key_jwt clients (no secret for those)', async () => {
    const native = await json(
      await call('POST', '/clients', adminToken, {
        name: 'Desktop',
        redirect_uris: ['http://127.0.0.1/cb'],
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        post_logout_redirect_uris: ['http://127.0.0.1/bye'],
      }),
    );
    expect(native).toMatchObject({ status: 201, body: { application_type: 'native', post_logout_redirect_uris: ['http://127.0.0.1/bye'] } });
    expect(native.body.client_secret).toBeUndefined();
    const keyed = await json(
      await call('POST', '/clients', adminToken, {
        name: 'Keyed',
        grant_types: ['client_credentials'],
        resources: [API],
        scope: 'read',
        jwks_uri: 'https://svc.admin-test.example/jwks.json',
      }),
    );
    expect(keyed).toMatchObject({ status: 201, body: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://svc.admin-test.example/jwks.json' } });
    expect(keyed.body.client_secret).toBeUndefined();
    expect(await json(await call('POST', `/clients/${keyed.body.client_id}/rotate-secret`, adminToken))).toMatchObject({
      status: 400,
      body: { error: 'invalid_client' },
    });

    const bad = async (body: unknown) => (await json(await call('POST', '/clients', adminToken, body))).status;
    expect(await bad({ name: 'x', redirect_uris: ['https://a.example/cb'], post_logout_redirect_uris: ['http://a.example/bye'] })).toBe(400);
    expect(await bad({ name: 'x', grant_types: ['client_credentials'], jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } })).toBe(400);
    expect(await bad({ name: 'x', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt' })).toBe(400);
    expect(await bad({ name: 'x', redirect_uris: ['http://127.0.0.1/cb'], application_type: 'tv' })).toBe(400);
  });

  it('manages APIs, users, sessions and keys, and reads the audit trail, which names the admin client', async () => {
    const api = await json(await call('POST', '/resources', adminToken, { identifier: 'https://reports.admin-test.example', scope: 'read export' }));
    expect(api).toMatchObject({ status: 201, body: { identifier: 'https://reports.admin-test.example', scopes: ['read', 'export'] } });
    expect((await json(await call('GET', '/resources', adminToken))).body.map((r: { identifier: string }) => r.identifier)).toContain(API);

    const user = await json(await call('POST', '/users', adminToken, { email: 'Ada@Example.test', password: 'a long admin-made passphrase' }));
    expect(user).toMatchObject({ status: 201, body: { email: 'ada@example.test' } });
    expect(JSON.stringify(user.body)).not.toContain('passphrase');
    expect(await json(await call('GET', '/users?email=ada@example.test', adminToken))).toMatchObject({ status: 200, body: { id: user.body.id } });
    expect((await call('GET', '/users?email=nobody@example.test', adminToken)).status).toBe(404);
    expect(await json(await call('POST', '/users/revoke-sessions', adminToken, { email: 'ada@example.test' }))).toMatchObject({
      status: 200,
      body: { accountId: user.body.id },
    });

    const before = (await json(await call('GET', '/keys', adminToken))).body as { kid: string; status: string }[];
    const rotated = await json(await call('POST', '/keys/rotate', adminToken));
    expect(rotated).toMatchObject({ status: 200, body: { status: 'next' } });
    const after = (await json(await call('GET', '/keys', adminToken))).body as { kid: string }[];
    expect(after.length).toBe(before.length + 1);
    const revoked = await json(await call('POST', `/keys/${rotated.body.kid}/revoke`, adminToken));
    expect(revoked).toMatchObject({ status: 200, body: { revoked: { kid: rotated.body.kid } } });

    const audit = await json(await call('GET', `/audit?client=${opsClientId}&limit=50`, adminToken));
    const types = (audit.body as { type: string; clientId: string; ip: string }[]).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['admin.resource.create', 'admin.user.create', 'admin.user.revoke_sessions', 'admin.key.rotate', 'admin.key.revoke']),
    );
    const adminEvents = (audit.body as { type: string; clientId: string; ip: string }[]).filter((e) => e.type.startsWith('admin.'));
    expect(adminEvents.every((e) => e.clientId === opsClientId && e.ip === '127.0.0.1')).toBe(true);
    // The change itself is recorded by the service, the same one the CLI uses, with who made it.
    const created = await gh.services.audit.list({ type: 'resource.created' });
    expect(created[0]!.details).toMatchObject({ identifier: 'https://reports.admin-test.example', via: 'admin_api', by_client: opsClientId });
    const userCreated = await gh.services.audit.list({ type: 'user.created' });
    expect(userCreated).toEqual([expect.objectContaining({ accountId: user.body.id, ip: '127.0.0.1', details: { via: 'admin_api', by_client: opsClientId } })]);
  });

  it('refuses requests without an admin token for its own audience', async () => {
    const tokens = accessTokens(gh, { audience: adminAudience, clientId: opsClientId });
    const expectRefused = async (token: string | undefined, status: number, error?: string) => {
      const res = await call('GET', '/clients', token);
      expect(res.status, `token ${token?.slice(0, 20)}`).toBe(status);
      const challenge = res.headers.get('www-authenticate')!;
      expect(challenge).toMatch(/^Bearer realm=/);
      if (error) expect(challenge).toContain(`error="${error}"`);
      expect((await res.json()).error).toBe(error ?? 'invalid_request');
    };
    await expectRefused(undefined, 401);
    await expectRefused('not-a-token', 401, 'invalid_token');
    await expectRefused(tamperSignature(adminToken), 401, 'invalid_token');
    await expectRefused(apiToken, 401, 'invalid_token'); // a real token, for another API
    await expectRefused(await tokens.signed({ scope: 'read' }), 403, 'insufficient_scope');
    await expectRefused(await tokens.signed({ scope: 'admin', exp: Math.floor(Date.now() / 1000) - 120 }), 401, 'invalid_token');
    await expectRefused(await tokens.unsigned(), 401, 'invalid_token');
    await expectRefused(await tokens.hmacWithPublicKey(), 401, 'invalid_token');

    // A revoked admin token stops working at once.
    const ops = await gh.services.clients.registerClient({
      name: 'short-lived ops',
      grantTypes: ['client_credentials'],
      resources: [adminAudience],
      scope: 'admin',
    });
    const token = await clientCredentialsToken(ops.client.client_id, ops.clientSecret!, adminAudience, 'admin');
    expect((await call('GET', '/keys', token)).status).toBe(200);
    const config = await oauth.discovery(new URL(gh.issuer), ops.client.client_id, undefined, oauth.ClientSecretBasic(ops.clientSecret!), options);
    await oauth.tokenRevocation(config, token);
    await expectRefused(token, 401, 'invalid_token');
  });

  it('answers bad input with 400 and a reason, and unknown paths with 404', async () => {
    const bad = async (body: unknown) => json(await call('POST', '/clients', adminToken, body));
    expect(await bad('{not json')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await bad({})).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining('body.name') } });
    expect(await bad({ name: 'x', grant_types: ['password'] })).toMatchObject({ status: 400 });
    expect(await bad({ name: 'x', surprise: true })).toMatchObject({ status: 400 });
    expect(await bad({ name: 'x', resources: ['https://unknown.example'] })).toMatchObject({ status: 400 });
    expect((await json(await call('POST', '/resources', adminToken, { identifier: 'not a uri', scope: 'a' }))).status).toBe(400);
    expect((await json(await call('POST', '/resources', adminToken, { identifier: 'javascript:alert(1)', scope: 'a' }))).status).toBe(400);
    expect(await bad({ name: 'x', redirect_uris: ['http://app.example.test/callback'] })).toMatchObject({ status: 400 });
    expect((await json(await call('GET', '/audit?since=yesterday', adminToken))).status).toBe(400);
    expect((await json(await call('GET', '/audit?limit=0', adminToken))).status).toBe(400);
    expect((await json(await call('POST', '/keys/no-such-kid/revoke', adminToken))).status).toBe(404);
    expect((await json(await call('GET', '/nothing-here', adminToken))).status).toBe(404);
    const wrongType = await call('POST', '/users', adminToken);
    expect(wrongType.status).toBe(400);
  });

  it('publishes an OpenAPI 3.1 document that lists exactly the routes it serves', async () => {
    const res = await fetch(`${gh.issuer}/admin/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
      components: { securitySchemes: unknown };
    };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    // Every documented operation is served (it answers 401 without a token, not 404/405) …
    for (const op of documented) {
      const [method, path] = op.split(' ') as [string, string];
      const res = await fetch(`${gh.issuer}${path.replace(/\{(\w+)\}/g, 'x')}`, { method });
      expect(res.status, op).toBe(401);
    }
    // … and the list is the one the tests above used.
    expect(documented).toEqual(
      [
        'DELETE /admin/v1/clients/{id}',
        'DELETE /admin/v1/users/{id}',
        'GET /admin/v1/audit',
        'GET /admin/v1/clients',
        'GET /admin/v1/clients/{id}',
        'GET /admin/v1/keys',
        'GET /admin/v1/resources',
        'GET /admin/v1/users',
        'GET /admin/v1/users/{id}',
        'GET /admin/v1/users/{id}/export',
        'PATCH /admin/v1/users/{id}',
        'POST /admin/v1/clients',
        'POST /admin/v1/clients/{id}/rotate-secret',
        'POST /admin/v1/keys/rotate',
        'POST /admin/v1/keys/{kid}/revoke',
        'POST /admin/v1/resources',
        'POST /admin/v1/users',
        'POST /admin/v1/users/import',
        'POST /admin/v1/users/revoke-sessions',
        'POST /admin/v1/users/{id}/disable',
        'POST /admin/v1/users/{id}/enable',
        'POST /admin/v1/users/{id}/send-reset',
        // Roles and attributes (test/permissions-operator.test.ts).
        'DELETE /admin/v1/resources/{identifier}/roles/{name}',
        'GET /admin/v1/resources/{identifier}/roles',
        'GET /admin/v1/users/permissions',
        'PATCH /admin/v1/resources/{identifier}',
        'POST /admin/v1/resources/{identifier}/roles',
        'POST /admin/v1/users/attributes',
        'POST /admin/v1/users/grant-role',
        'POST /admin/v1/users/revoke-role',
      ].sort(),
    );
    expect(doc.paths['/admin/v1/clients']!.post!.requestBody).toMatchObject({
      content: { 'application/json': { schema: { type: 'object', required: ['name'] } } },
    });
    const clientFields = (
      doc.paths['/admin/v1/clients']!.post!.requestBody as { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } }
    ).content['application/json'].schema.properties;
    expect(Object.keys(clientFields)).toEqual(expect.arrayContaining(['post_logout_redirect_uris', 'application_type', 'jwks_uri', 'jwks']));
  });
});
