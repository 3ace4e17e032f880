import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { oauthError } from './support/oauth-error.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.auth-method.test';
const options = { execute: [oauth.allowInsecureRequests] };
type Creds = { id: string; secret: string };

/**
 * The registered token_endpoint_auth_method is the only one a client may use (RFC 7591 §2,
 * OpenID Connect Core §9): Basic and form-posted secrets are not interchangeable, at any endpoint
 * that authenticates clients.
 */
describe('the registered client authentication method is enforced', () => {
  const gh = useTestGatehouse();
  let basicClient: Creds;
  let postClient: Creds;
  let basicApi: Creds;
  let postApi: Creds;

  const configure = (c: Creds, method: 'basic' | 'post') =>
    oauth.discovery(new URL(gh.issuer), c.id, undefined, method === 'basic' ? oauth.ClientSecretBasic(c.secret) : oauth.ClientSecretPost(c.secret), options);
  const basic = (c: Creds) => `Basic ${btoa(`${c.id}:${c.secret}`)}`;

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]) => {
      const { client, clientSecret } = await gh.services.clients.registerClient(input);
      return { id: client.client_id, secret: clientSecret! };
    };
    basicClient = await register({ name: 'basic', resources: [API], scope: 'read' }); // client_secret_basic is the default
    postClient = await register({ name: 'post', resources: [API], scope: 'read', tokenEndpointAuthMethod: 'client_secret_post' });
    basicApi = await register({ name: 'API, basic', canIntrospect: true, resources: [API] });
    postApi = await register({ name: 'API, post', canIntrospect: true, resources: [API], tokenEndpointAuthMethod: 'client_secret_post' });
  });

  const cases = [
    ['client_secret_basic', 'the form (client_secret_post)', () => basicClient, 'post', 'basic'],
    ['client_secret_post', 'HTTP Basic (client_secret_basic)', () => postClient, 'basic', 'post'],
  ] as const;

  it.each(cases)('refuses a %s client that authenticates with %s at /token', async (_m, _w, client, wrong, right) => {
    expect(await oauthError(oauth.clientCredentialsGrant(await configure(client(), wrong), { scope: 'read' }))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    await expect(oauth.clientCredentialsGrant(await configure(client(), right), { scope: 'read' })).resolves.toMatchObject({ token_type: 'bearer' });
  });

  it.each(cases)('refuses a %s client that authenticates with %s at /token/introspection and /token/revocation', async (_m, _w, client, wrong, right) => {
    const token = (await oauth.clientCredentialsGrant(await configure(client(), right), { scope: 'read' })).access_token;
    const wrongConfig = await configure(client(), wrong);
    expect(await oauthError(oauth.tokenIntrospection(wrongConfig, token))).toEqual({ status: 401, error: 'invalid_client' });
    expect(await oauthError(oauth.tokenRevocation(wrongConfig, token))).toEqual({ status: 401, error: 'invalid_client' });
    const rightConfig = await configure(client(), right);
    expect(await oauth.tokenIntrospection(rightConfig, token)).toMatchObject({ active: true });
    await oauth.tokenRevocation(rightConfig, token);
    expect(await oauth.tokenIntrospection(rightConfig, token)).toMatchObject({ active: false });
  });

  it('serves the revocation feed (HTTP Basic only) to client_secret_basic clients, not to client_secret_post ones', async () => {
    const feed = (c: Creds) => fetch(`${gh.issuer}/revocations`, { headers: { authorization: basic(c) } });
    expect((await feed(basicApi)).status).toBe(200);
    const refused = await feed(postApi);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  });
});
