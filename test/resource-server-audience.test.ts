import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { signIn } from './support/sign-in.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const REPORTS = 'https://reports.example.test';
const BILLING = 'https://billing.example.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'ida@example.test', password: 'audience passphrase' };
const options = { execute: [oauth.allowInsecureRequests] };

// What the README tells resource servers that check no `typ` (mod_oauth2, mod_auth_openidc, most
// non-Node libraries): require `iss` and `aud`. Both tokens below are signed by the same keys; only
// `aud` tells them apart, and only `aud` tells one API's token from another's at introspection.
describe("what keeps ID tokens and other APIs' tokens out of a resource server: aud", () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;
  let billingIntrospector: { id: string; secret: string };
  let tokens: oauth.TokenEndpointResponse & oauth.TokenEndpointResponseHelpers;

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: REPORTS, scope: 'reports:read' });
    await gh.services.resources.createResource({ identifier: BILLING, scope: 'billing:read' });
    await gh.services.accounts.registerAccount(user);
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name: 'Reports UI',
      redirectUris: [REDIRECT_URI],
      scope: 'openid email reports:read',
      resources: [REPORTS],
    });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), options);
    // One client for a service that runs both APIs (say, an API gateway): it may introspect the tokens of each.
    const billing = await gh.services.clients.registerClient({
      name: 'Reports and billing backend',
      grantTypes: ['client_credentials'],
      canIntrospect: true,
      scope: 'billing:read',
      resources: [BILLING, REPORTS],
    });
    billingIntrospector = { id: billing.client.client_id, secret: billing.clientSecret! };

    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid email reports:read', resource: REPORTS });
    tokens = await flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI));
  });

  it('gives an ID token the client as aud, never an API: requiring your API as aud refuses it', async () => {
    const jwks = createRemoteJWKSet(new URL(`${gh.issuer}/jwks`));
    // Verified as a typ-blind resource server would: signature, iss, aud. No typ.
    await expect(jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: REPORTS })).resolves.toBeTruthy();
    await expect(jwtVerify(tokens.id_token!, jwks, { issuer: gh.issuer })).resolves.toBeTruthy(); // same keys: a signature check alone lets it in
    await expect(jwtVerify(tokens.id_token!, jwks, { issuer: gh.issuer, audience: REPORTS })).rejects.toThrow(/aud/);
    await expect(jwtVerify(tokens.access_token, jwks, { issuer: gh.issuer, audience: BILLING })).rejects.toThrow(/aud/);
  });

  it('answers active: true to a client serving several APIs for any of their tokens, with aud saying whose it is', async () => {
    const introspector = await oauth.discovery(
      new URL(gh.issuer),
      billingIntrospector.id,
      undefined,
      oauth.ClientSecretBasic(billingIntrospector.secret),
      options,
    );
    const answer = await oauth.tokenIntrospection(introspector, tokens.access_token);
    expect(answer.active).toBe(true);
    expect([answer.aud].flat()).toEqual([REPORTS]); // so the billing API, asking, must check aud, not only active
    expect(answer.iss).toBe(gh.issuer);
  });
});
