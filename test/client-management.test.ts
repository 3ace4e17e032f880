import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '../src/errors/app-error.ts';
import { oauthError } from './support/oauth-error.ts';
import { testDatabaseUrl } from './support/test-env.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.example.test';
const options = { execute: [oauth.allowInsecureRequests] };

type RegisterInput = Parameters<TestGatehouse['services']['clients']['registerClient']>[0];
const serviceClient: RegisterInput = { name: 'Nightly job', grantTypes: ['client_credentials'], scope: 'read', resources: [API] };

/** A client_credentials request with client_secret_basic; resolves to the error, or undefined on success. */
async function tokenError(gh: TestGatehouse, clientId: string, clientSecret: string) {
  const config = await oauth.discovery(new URL(gh.issuer), clientId, undefined, oauth.ClientSecretBasic(clientSecret), options);
  return oauthError(oauth.clientCredentialsGrant(config, { scope: 'read' })).catch((err: Error) => {
    if (err.message.startsWith('expected the request to fail')) return undefined;
    throw err;
  });
}

describe('client management', () => {
  const gh = useTestGatehouse();

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
  });

  it('stores only a keyed hash of the client secret', async () => {
    const { client, clientSecret } = await gh.services.clients.registerClient(serviceClient);
    expect(clientSecret).toBeTruthy();
    const row = await gh.knex('clients').where({ client_id: client.client_id }).first();
    const metadata = typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata;
    expect(metadata.client_secret).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(clientSecret);
    // Nor does anything the service hands out for display.
    expect(client).not.toHaveProperty('client_secret');
    expect(await gh.services.clients.showClient(client.client_id)).not.toHaveProperty('client_secret');
  });

  // Each rule of registration has its case in registration-validation.test.ts (no server); these
  // are the ones that read the APIs from storage, and show that a refusal saves nothing.
  it.each<[string, RegisterInput]>([
    ['a redirect URI with a fragment', { name: 'Web', redirectUris: ['https://app.example.test/callback#x'], scope: 'openid' }],
    ['an API scope none of its resources offer', { name: 'Greedy', scope: 'read delete', resources: [API] }],
    ['an unknown resource', { name: 'Lost', scope: 'read', resources: ['https://nowhere.example.test'] }],
  ])('refuses to register a client with %s, saving nothing', async (_what, input) => {
    const before = (await gh.services.clients.listClients()).length;
    await expect(gh.services.clients.registerClient(input)).rejects.toBeInstanceOf(AppError);
    expect(await gh.services.clients.listClients()).toHaveLength(before);
  });

  // RFC 8707 §2: an absolute URI without a fragment; and https, as it names where tokens are sent.
  it.each([
    ['javascript:alert(1)'],
    ['http://api.example.test'],
    ['ftp://api.example.test'],
    ['urn:example:api'],
    ['https://api.example.test/#frag'],
    ['https://api.example.test/#'],
    ['/relative/api'],
  ])('refuses an API identifier %s, saving nothing', async (identifier) => {
    await expect(gh.services.resources.createResource({ identifier, scope: 'read' })).rejects.toMatchObject({ code: 'invalid_resource', status: 400 });
    expect((await gh.services.resources.listResources()).map((r) => r.identifier)).not.toContain(identifier);
  });

  it.each([['https://other-api.example.test/v1'], ['http://localhost:4000'], ['http://127.0.0.1:4000/api']])(
    'accepts an API identifier %s',
    async (identifier) => {
      expect((await gh.services.resources.createResource({ identifier, scope: 'read' })).identifier).toBe(identifier);
    },
  );

  it('rotating a secret refuses the old one at once and accepts the new one', async () => {
    const { client, clientSecret } = await gh.services.clients.registerClient(serviceClient);
    // Fills this instance's client cache with the old secret's hash.
    expect(await tokenError(gh, client.client_id, clientSecret!)).toBeUndefined();

    const rotated = await gh.services.clients.rotateClientSecret(client.client_id);
    expect(rotated.clientSecret).not.toBe(clientSecret);
    expect(await tokenError(gh, client.client_id, clientSecret!)).toEqual({ status: 401, error: 'invalid_client' });
    expect(await tokenError(gh, client.client_id, rotated.clientSecret)).toBeUndefined();
  });

  it('a deleted client is refused with invalid_client at once', async () => {
    const { client, clientSecret } = await gh.services.clients.registerClient(serviceClient);
    expect(await tokenError(gh, client.client_id, clientSecret!)).toBeUndefined();

    await gh.services.clients.deleteClient(client.client_id);
    expect(await tokenError(gh, client.client_id, clientSecret!)).toEqual({ status: 401, error: 'invalid_client' });
    await expect(gh.services.clients.showClient(client.client_id)).rejects.toMatchObject({ code: 'not_found' });
  });
});

// Two instances share one Postgres only with a real server (PGlite is per process).
describe.runIf(testDatabaseUrl)('client changes across instances on shared Postgres', () => {
  const storage = newStorage();
  let a: TestGatehouse;
  let b: TestGatehouse;

  beforeAll(async () => {
    a = await startTestGatehouse(storage);
    b = await startTestGatehouse(storage);
    await a.services.resources.createResource({ identifier: API, scope: 'read write' });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dropStorage(storage);
  });

  // Caches expire on their own after 60 s; these bounds prove the LISTEN/NOTIFY path did it.
  const soon = { timeout: 5_000, interval: 100 };

  it('another instance refuses a rotated-out secret within seconds', async () => {
    const { client, clientSecret } = await a.services.clients.registerClient(serviceClient);
    // B learns of the new client (its cached miss, if any, is dropped by the notice) and caches it.
    await vi.waitFor(async () => expect(await tokenError(b, client.client_id, clientSecret!)).toBeUndefined(), soon);

    const rotated = await a.services.clients.rotateClientSecret(client.client_id);
    await vi.waitFor(async () => expect(await tokenError(b, client.client_id, clientSecret!)).toEqual({ status: 401, error: 'invalid_client' }), soon);
    expect(await tokenError(b, client.client_id, rotated.clientSecret)).toBeUndefined();
  });

  it('another instance refuses a deleted client within seconds', async () => {
    const { client, clientSecret } = await a.services.clients.registerClient(serviceClient);
    await vi.waitFor(async () => expect(await tokenError(b, client.client_id, clientSecret!)).toBeUndefined(), soon);

    await a.services.clients.deleteClient(client.client_id);
    await vi.waitFor(async () => expect(await tokenError(b, client.client_id, clientSecret!)).toEqual({ status: 401, error: 'invalid_client' }), soon);
  });
});
