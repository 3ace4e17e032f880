import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess, useCliStorage } from './support/cli-in-process.ts';
import type { CliResult } from './support/gatehouse-process.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.roles-admin.test';
const PASSWORD = 'a long operator-made passphrase';

describe('roles and attributes over the admin API', () => {
  const gh = useTestGatehouse();
  let adminToken: string;
  let opsClientId: string;

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${gh.issuer}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const json = async (res: Response) => ({ status: res.status, body: await res.json() });
  const api = `/resources/${encodeURIComponent(API)}`;

  beforeAll(async () => {
    const adminAudience = `${gh.issuer}/admin`;
    const ops = await gh.services.clients.registerClient({ name: 'ops', grantTypes: ['client_credentials'], resources: [adminAudience], scope: 'admin' });
    opsClientId = ops.client.client_id;
    const config = await oauth.discovery(new URL(gh.issuer), opsClientId, undefined, oauth.ClientSecretBasic(ops.clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
    adminToken = (await oauth.clientCredentialsGrant(config, { resource: adminAudience, scope: 'admin' })).access_token;
  });

  it('creates an --rbac API, its roles, gives and takes roles and sets attributes, all audited', async () => {
    expect(await json(await call('POST', '/resources', { identifier: API, scope: 'read write', rbac: true, token_claims: ['roles'] }))).toMatchObject({
      status: 201,
      body: { identifier: API, isRbac: true, tokenClaims: ['roles'] },
    });
    expect(await json(await call('PATCH', api, { token_claims: ['roles', 'tenant_id'] }))).toMatchObject({
      status: 200,
      body: { isRbac: true, tokenClaims: ['roles', 'tenant_id'] },
    });
    expect(await json(await call('POST', `${api}/roles`, { name: 'editor', scope: 'read write' }))).toMatchObject({
      status: 201,
      body: { name: 'editor', scopes: ['read', 'write'] },
    });
    expect(await json(await call('POST', `${api}/roles`, { name: 'viewer', scope: 'read' }))).toMatchObject({ status: 201 });
    expect((await json(await call('GET', `${api}/roles`))).body.map((r: { name: string }) => r.name)).toEqual(['editor', 'viewer']);

    const user = await json(await call('POST', '/users', { email: 'ops-made@roles-admin.test', password: PASSWORD }));
    expect(await json(await call('POST', '/users/grant-role', { email: 'ops-made@roles-admin.test', resource: API, role: 'editor' }))).toMatchObject({
      status: 200,
      body: { accountId: user.body.id, role: 'editor', isNew: true },
    });
    expect(await json(await call('POST', '/users/attributes', { email: 'ops-made@roles-admin.test', attributes: { tenant_id: 'acme' } }))).toMatchObject({
      status: 200,
      body: { attributes: { tenant_id: 'acme' } },
    });
    expect(await json(await call('GET', '/users/permissions?email=ops-made@roles-admin.test'))).toEqual({
      status: 200,
      body: { accountId: user.body.id, roles: [{ resource: API, role: 'editor' }], attributes: { tenant_id: 'acme' } },
    });
    expect(
      await json(await call('POST', '/users/revoke-role', { email: 'ops-made@roles-admin.test', resource: API, role: 'editor', revoke_tokens: true })),
    ).toMatchObject({
      status: 200,
      body: { tokensRevoked: true },
    });
    const feed = await gh.services.revocations.feed(undefined, 1000);
    expect(feed.events).toContainEqual(expect.objectContaining({ type: 'subject_audience', sub: user.body.id, aud: API }));
    await call('POST', '/users/grant-role', { email: 'ops-made@roles-admin.test', resource: API, role: 'viewer' });
    const before = (await gh.services.revocations.feed(undefined, 1000)).events.length;
    expect(await json(await call('DELETE', `${api}/roles/viewer?revoke_tokens=true`))).toMatchObject({
      status: 200,
      body: { role: 'viewer', users: 1, tokensRevoked: true },
    });
    expect((await gh.services.revocations.feed(undefined, 1000)).events.length).toBe(before + 1);
    expect((await json(await call('GET', '/users/permissions?email=ops-made@roles-admin.test'))).body.roles).toEqual([]);

    const audit = (await json(await call('GET', `/audit?client=${opsClientId}&limit=100`))).body as { type: string }[];
    expect(audit.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'admin.resource.update',
        'admin.role.create',
        'admin.role.delete',
        'admin.user.grant_role',
        'admin.user.revoke_role',
        'admin.user.set_attributes',
      ]),
    );
    const granted = await gh.services.audit.list({ type: 'user.role_granted' });
    expect(granted.find((e) => e.details?.role === 'editor')).toMatchObject({
      accountId: user.body.id,
      details: { resource: API, role: 'editor', via: 'admin_api', by_client: opsClientId },
    });
  });

  it('answers bad input with a clear 4xx', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['PATCH', api, { token_claims: ['cnf'] }, 400, 'invalid_resource'],
      ['PATCH', api, { rbac: 'yes' }, 400, 'invalid_request'],
      ['PATCH', api, {}, 400, 'invalid_request'],
      ['PATCH', `/resources/${encodeURIComponent('https://nowhere.test')}`, { rbac: true }, 404, 'not_found'],
      ['PATCH', `/resources/${encodeURIComponent(`${gh.issuer}/admin`)}`, { rbac: true }, 409, 'conflict'],
      ['POST', `${api}/roles`, { name: 'editor', scope: 'read' }, 409, 'conflict'],
      ['POST', `${api}/roles`, { name: 'owner', scope: 'read delete' }, 400, 'invalid_role'],
      ['POST', `${api}/roles`, { name: 'has space', scope: 'read' }, 400, 'invalid_role'],
      ['POST', `/resources/${encodeURIComponent(`${gh.issuer}/admin`)}/roles`, { name: 'x', scope: 'admin' }, 400, 'invalid_role'],
      ['GET', `/resources/${encodeURIComponent('https://nowhere.test')}/roles`, undefined, 404, 'not_found'],
      ['POST', '/users/grant-role', { email: 'nobody@roles-admin.test', resource: API, role: 'editor' }, 404, 'not_found'],
      ['POST', '/users/grant-role', { email: 'ops-made@roles-admin.test', resource: API, role: 'nonexistent' }, 404, 'not_found'],
      ['POST', '/users/revoke-role', { email: 'ops-made@roles-admin.test', resource: API, role: 'editor' }, 404, 'not_found'],
      ['POST', '/users/attributes', { email: 'ops-made@roles-admin.test', attributes: { scope: 'admin' } }, 400, 'invalid_attributes'],
      ['POST', '/users/attributes', { email: 'ops-made@roles-admin.test', attributes: ['a'] }, 400, 'invalid_request'],
      ['DELETE', `${api}/roles/nonexistent`, undefined, 404, 'not_found'],
      // NUL bytes reach Postgres as a 22021 error (a 500) unless refused first (notes §13).
      ['PATCH', `/resources/${encodeURIComponent('https://x.test/\u0000')}`, { rbac: true }, 404, 'not_found'],
      ['GET', `/resources/${encodeURIComponent('https://x.test/\u0000')}/roles`, undefined, 404, 'not_found'],
      ['DELETE', `${api}/roles/${encodeURIComponent('a\u0000')}`, undefined, 404, 'not_found'],
      ['POST', '/users/grant-role', { email: 'ops-made@roles-admin.test', resource: 'https://x.test/\u0000', role: 'editor' }, 404, 'not_found'],
      ['POST', '/users/grant-role', { email: 'ops-made@roles-admin.test', resource: API, role: 'a\u0000' }, 404, 'not_found'],
      ['POST', '/users/revoke-role', { email: 'ops-made@roles-admin.test', resource: API, role: 'a\u0000' }, 404, 'not_found'],
      ['POST', '/users/attributes', { email: 'ops-made@roles-admin.test', attributes: { tenant_id: 'a\u0000' } }, 400, 'invalid_attributes'],
      ['POST', '/users/attributes', { email: 'ops-made@roles-admin.test', attributes: { tenant: { 'a\u0000': 1 } } }, 400, 'invalid_attributes'],
      ['POST', '/users/attributes', { email: 'ops-made@roles-admin.test', attributes: { tenant_id: '\ud800' } }, 400, 'invalid_attributes'],
    ];
    for (const [method, path, body, status, error] of cases) {
      expect(await json(await call(method, path, body)), `${method} ${path} ${JSON.stringify(body)}`).toMatchObject({ status, body: { error } });
    }
  });

  it('describes the new operations in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gh.issuer}/admin/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/admin/v1/resources/{identifier}']!)).toEqual(['patch']);
    expect(Object.keys(doc.paths['/admin/v1/resources/{identifier}/roles']!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/admin/v1/resources/{identifier}/roles/{name}']!)).toEqual(['delete']);
    for (const path of ['/admin/v1/users/grant-role', '/admin/v1/users/revoke-role', '/admin/v1/users/attributes'])
      expect(doc.paths[path], path).toHaveProperty('post');
    expect(doc.paths['/admin/v1/users/permissions']).toHaveProperty('get');
    expect(JSON.stringify(doc.paths['/admin/v1/resources']!.post)).toContain('token_claims');
  });
});

// Commands run in this process (runCliInProcess), as test/cli.test.ts does.
describe('roles and attributes from the CLI', { timeout: 180_000 }, () => {
  const setup = useCliStorage();
  const cli = (args: string[]) => runCliInProcess(args, setup.env);
  const json = async (args: string[]) => {
    const result = await cli([...args, '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  };
  const expectRefusal = (result: CliResult, reason: RegExp) => {
    expect(result.code, result.stdout).not.toBe(0);
    expect(result.stderr).toMatch(/^gatehouse: [^\n]+\n$/);
    expect(result.stderr).toMatch(reason);
  };

  it('sets up an --rbac API with roles and a user, then changes it', async () => {
    expect(
      await json(['resources', 'create', '--identifier', API, '--scope', 'read write', '--rbac', '--token-claim', 'roles', '--token-claim', 'tenant_id']),
    ).toMatchObject({
      isRbac: true,
      tokenClaims: ['roles', 'tenant_id'],
    });
    expect(await json(['roles', 'create', '--resource', API, '--name', 'editor', '--scope', 'read write'])).toEqual({
      resource: API,
      name: 'editor',
      scopes: ['read', 'write'],
    });
    expect((await cli(['users', 'create', '--email', 'cli@roles-admin.test', '--password', PASSWORD])).code).toBe(0);
    expect(await json(['users', 'grant-role', '--email', 'cli@roles-admin.test', '--resource', API, '--role', 'editor'])).toMatchObject({
      role: 'editor',
      isNew: true,
    });
    expect(await json(['users', 'set-attributes', '--email', 'cli@roles-admin.test', '--attributes', '{"tenant_id":"acme"}'])).toMatchObject({
      attributes: { tenant_id: 'acme' },
    });
    expect(await json(['users', 'permissions', '--email', 'cli@roles-admin.test'])).toMatchObject({
      roles: [{ resource: API, role: 'editor' }],
      attributes: { tenant_id: 'acme' },
    });
    expect(await json(['users', 'revoke-role', '--email', 'cli@roles-admin.test', '--resource', API, '--role', 'editor', '--revoke-tokens'])).toMatchObject({
      tokensRevoked: true,
    });
    expect(await json(['resources', 'update', '--identifier', API, '--no-rbac', '--no-token-claims'])).toMatchObject({ isRbac: false, tokenClaims: [] });
    const listed = await cli(['resources', 'list']);
    expect(listed.stdout).toMatch(/RBAC\s+TOKEN CLAIMS/);
  });

  it('refuses bad input with a one-line reason', async () => {
    expectRefusal(await cli(['resources', 'update', '--identifier', API, '--token-claim', 'scope']), /token claim scope is reserved/);
    expectRefusal(await cli(['resources', 'update', '--identifier', API]), /nothing to change/);
    expectRefusal(await cli(['roles', 'create', '--resource', API, '--name', 'admin', '--scope', 'delete']), /delete is not a scope of/);
    expectRefusal(
      await cli(['users', 'set-attributes', '--email', 'cli@roles-admin.test', '--attributes', '{"cnf":{"jkt":"x"}}']),
      /attribute cnf is a reserved claim/,
    );
    expectRefusal(await cli(['users', 'set-attributes', '--email', 'cli@roles-admin.test', '--attributes', '{not json']), /not valid JSON/);
    expectRefusal(await cli(['users', 'grant-role', '--email', 'cli@roles-admin.test', '--resource', API]), /--role is required/);
  });
});
