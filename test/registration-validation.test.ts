import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type JWK, Provider } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NewClientChecks, prepareClient, type RegisterClientInput } from '../src/clients/client-service.ts';
import { isRedirectUriAllowed } from '../src/clients/loopback-redirect.ts';
import { createRegistrationTokens, type SelfRegistrationGrant } from '../src/clients/registration-tokens.ts';
import { createRegistrationGrants } from '../src/http/registration-guard.ts';
import { createClientMetadataValidator } from '../src/oidc/client-metadata-validator.ts';
import { ENGINE_ISSUER, engineConfiguration, resourcesOf } from './support/engine-configuration.ts';
import { createTestDatabase } from './support/test-storage.ts';

/**
 * The rules a client is registered under, called directly: an operator's client (the CLI and the
 * admin API both go through prepareClient: our rules, then oidc-provider's own validation on the
 * server's configuration) and a client that registers itself (RFC 7591/7592: the engine's
 * schema with our self-registration policy in its metadata validator). No HTTP, no subprocess.
 */

const API = 'https://api.example.test';
const OTHER_API = 'https://other.example.test';
const WEB = 'https://app.example.test/callback';
const MAX_ABSOLUTE = 90 * 86_400;
const resources = resourcesOf([
  { identifier: API, scopes: ['read', 'write'] },
  { identifier: OTHER_API, scopes: ['admin'] },
]);

const checksWith = (selfService?: { isDeviceFlowOn: boolean }): NewClientChecks => ({
  resources,
  secretPepper: randomBytes(32),
  maxRefreshTokenAbsoluteSeconds: MAX_ABSOLUTE,
  validateMetadata: createClientMetadataValidator({
    issuer: ENGINE_ISSUER,
    configuration: async () =>
      engineConfiguration({
        resources,
        ...(selfService && { selfService: { registration: 'off', isClientIdMetadataDocumentOn: false, ...selfService } }),
      }),
  }),
});
const checks = checksWith();
const prepare = (input: Partial<RegisterClientInput>) => prepareClient({ name: 'App', ...input }, checks);
const refusal = (input: Partial<RegisterClientInput>, code: string, message: RegExp) =>
  expect(prepare(input)).rejects.toMatchObject({ code, status: 400, message: expect.stringMatching(message) });

const publicKeyJwk = (kid: string) =>
  ({ ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JWK), kid }) as Record<string, unknown>;

describe("an operator's client (prepareClient: the CLI's and the admin API's rules)", () => {
  describe('redirect URIs', () => {
    it.each([
      ['not a URL', 'not a url'],
      ['a relative URL', '/callback'],
      ['plain http to a host on the network', 'http://app.example.test/callback'],
      ['plain http to a name that only starts like a loopback address', 'http://127.0.0.1.example.test/callback'],
      ['plain http to a name that only starts with localhost', 'http://localhost.example.test/callback'],
      ['plain http to an IPv6 address other than ::1', 'http://[::2]/callback'],
      ['plain http to IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/callback'],
      ['a fragment', 'https://app.example.test/callback#state'],
      ['an empty fragment', 'https://app.example.test/callback#'],
      ['javascript:', 'javascript:alert(1)'],
      ['data:', 'data:text/html,<script>alert(1)</script>'],
      ['file:', 'file:///etc/passwd'],
      ['ftp:', 'ftp://app.example.test/callback'],
      ['a private-use scheme (RFC 8252 §7.1), even for a web app', 'com.example.app:/oauth2redirect'],
    ])('refuses %s', async (_what, uri) => {
      await refusal({ redirectUris: [uri] }, 'invalid_client', /^redirect URI .* must be an https:\/\/ URL without a fragment/);
    });

    it('refuses the whole registration for one bad URI among good ones', async () => {
      await refusal({ redirectUris: [WEB, 'http://app.example.test/other'] }, 'invalid_client', /app\.example\.test\/other/);
    });

    it('refuses a private-use scheme for a native app too: only loopback http and claimed https', async () => {
      await refusal(
        { redirectUris: ['com.example.app:/oauth2redirect'], applicationType: 'native', tokenEndpointAuthMethod: 'none' },
        'invalid_client',
        /redirect URI/,
      );
    });

    it.each([
      ['https', WEB],
      ['http on localhost', 'http://localhost:8080/callback'],
      ['http on 127.0.0.1', 'http://127.0.0.1:9/callback'],
      ['http anywhere in 127.0.0.0/8', 'http://127.255.255.254/callback'],
      ['http on [::1]', 'http://[::1]:8080/callback'],
    ])('registers a web app with a redirect URI over %s, kept exactly as given', async (_what, uri) => {
      const { stored } = await prepare({ redirectUris: [uri] });
      expect(stored.redirect_uris).toEqual([uri]);
      expect(stored).not.toHaveProperty('application_type'); // web, the engine's default
    });

    // The engine's own rules for native apps (RFC 8252 §7.3, §7.2), on top of ours.
    it.each([
      ['https on localhost (a claimed https URI must name a real host)', 'https://localhost/callback', /claimed HTTPS URIs must not be using localhost/],
      ['https on 127.0.0.1', 'https://127.0.0.1/callback', /claimed HTTPS URIs must not be using 127\.0\.0\.1/],
      ['http on a loopback address other than 127.0.0.1', 'http://127.0.0.2/callback', /can only use loopback addresses/],
    ])("refuses a native app's redirect URI over %s (the engine's rule)", async (_what, uri, message) => {
      await refusal({ redirectUris: [uri], applicationType: 'native', tokenEndpointAuthMethod: 'none' }, 'invalid_redirect_uri', message);
    });

    it.each([
      ['loopback http on 127.0.0.1', 'http://127.0.0.1/callback'],
      ['loopback http on [::1]', 'http://[::1]/callback'],
      ['a claimed https URI', 'https://app.example.test/callback'],
    ])('registers a native app with %s', async (_what, uri) => {
      const { stored } = await prepare({ redirectUris: [uri], applicationType: 'native', tokenEndpointAuthMethod: 'none' });
      expect(stored).toMatchObject({ application_type: 'native', redirect_uris: [uri] });
    });

    it('refuses an application type other than web and native', async () => {
      await refusal({ redirectUris: [WEB], applicationType: 'phone' }, 'invalid_client', /application type must be one of web, native/);
    });

    // Matching is exact, so a '*' host could never match anything but itself: it is refused rather
    // than stored as if it were a pattern. A '*' in the path is only a character.
    it('refuses a wildcard host and a URI with credentials in it', async () => {
      for (const uri of ['https://*.example.test/callback', 'https://user:secret@app.example.test/callback', 'http://user@127.0.0.1/callback']) {
        await refusal({ redirectUris: [uri] }, 'invalid_client', /must be an https:\/\/ URL without a fragment, credentials or wildcard/);
      }
    });

    it('matches a path with a * in it only literally, never as a pattern', async () => {
      const { stored } = await prepare({ redirectUris: ['https://app.example.test/*'] });
      const registered = stored.redirect_uris as string[];
      const web = { clientAuthMethod: 'client_secret_basic' };
      expect(isRedirectUriAllowed('https://app.example.test/anything', registered, web)).toBe(false);
      expect(isRedirectUriAllowed('https://app.example.test/*', registered, web)).toBe(true);
    });

    it('matches other redirect URIs exactly too: no trailing slash, case or extra query leeway', () => {
      const web = { clientAuthMethod: 'client_secret_basic' };
      expect(isRedirectUriAllowed(WEB, [WEB], web)).toBe(true);
      for (const near of [`${WEB}/`, WEB.toUpperCase(), `${WEB}?x=1`, 'https://app.example.test:443/callback']) {
        expect(isRedirectUriAllowed(near, [WEB], web), near).toBe(false);
      }
    });

    it('gives any loopback port to a public native app only, and only on an IP literal (RFC 8252 §7.3, §8.3)', () => {
      const registered = ['http://127.0.0.1/cb', 'http://[::1]/cb', 'http://localhost/cb'];
      const nativePublic = { applicationType: 'native', clientAuthMethod: 'none' };
      expect(isRedirectUriAllowed('http://127.0.0.1:49152/cb', registered, nativePublic)).toBe(true);
      expect(isRedirectUriAllowed('http://[::1]:65535/cb', registered, nativePublic)).toBe(true);
      expect(isRedirectUriAllowed('http://127.0.0.1:65536/cb', registered, nativePublic)).toBe(false); // not a port
      expect(isRedirectUriAllowed('http://localhost:49152/cb', registered, nativePublic)).toBe(false);
      expect(isRedirectUriAllowed('http://127.0.0.1:49152/cb?x=1', registered, nativePublic)).toBe(false);
      expect(isRedirectUriAllowed('http://127.0.0.1:49152/cb', registered, { applicationType: 'native', clientAuthMethod: 'client_secret_basic' })).toBe(false);
      expect(isRedirectUriAllowed('http://127.0.0.1:49152/cb', registered, { clientAuthMethod: 'none' })).toBe(false);
    });
  });

  describe('post-logout redirect URIs and the back-channel logout URI', () => {
    it('registers post-logout redirect URIs under the redirect URIs rules, once each', async () => {
      const { stored } = await prepare({
        redirectUris: ['http://127.0.0.1/cb'],
        applicationType: 'native',
        tokenEndpointAuthMethod: 'none',
        postLogoutRedirectUris: ['http://127.0.0.1/bye', 'https://app.example.test/bye', 'http://127.0.0.1/bye'],
      });
      expect(stored.post_logout_redirect_uris).toEqual(['http://127.0.0.1/bye', 'https://app.example.test/bye']);
    });

    it.each([
      ['plain http to a host on the network', 'http://app.example.test/bye'],
      ['a fragment', 'https://app.example.test/bye#x'],
      ['javascript:', 'javascript:alert(1)'],
      ['a wildcard host', 'https://*.example.test/bye'],
      ['credentials', 'https://user:secret@app.example.test/bye'],
    ])('refuses a post-logout redirect URI with %s', async (_what, uri) => {
      await refusal({ redirectUris: [WEB], postLogoutRedirectUris: [uri] }, 'invalid_client', /^post-logout redirect URI/);
    });

    it("refuses a native app's post-logout redirect URI the engine would refuse as a redirect URI", async () => {
      await refusal(
        {
          redirectUris: ['http://127.0.0.1/cb'],
          postLogoutRedirectUris: ['https://localhost/bye'],
          applicationType: 'native',
          tokenEndpointAuthMethod: 'none',
        },
        'invalid_client_metadata',
        /post_logout_redirect_uris for native clients/,
      );
    });

    it('registers an https or loopback back-channel logout URI and refuses any other', async () => {
      for (const uri of ['https://rp.example.test/logout', 'http://127.0.0.1:9/logout']) {
        expect((await prepare({ redirectUris: [WEB], backchannelLogoutUri: uri })).stored.backchannel_logout_uri).toBe(uri);
      }
      for (const uri of ['http://rp.example.test/logout', 'https://rp.example.test/logout#x', 'not a url']) {
        await refusal({ redirectUris: [WEB], backchannelLogoutUri: uri }, 'invalid_client', /^back-channel logout URI/);
      }
    });
  });

  describe('grant types and response types', () => {
    it('defaults to the code flow with refresh tokens when there are redirect URIs, responding with code', async () => {
      const { stored } = await prepare({ redirectUris: [WEB] });
      expect(stored).toMatchObject({ grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
    });

    it('defaults to client_credentials without redirect URIs, with no response types', async () => {
      const { stored } = await prepare({ resources: [API], scope: 'read' });
      expect(stored).toMatchObject({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    });

    it('responds with code only when the client uses the code grant, whatever its redirect URIs', async () => {
      for (const grantTypes of [['client_credentials'], ['refresh_token']]) {
        const { stored } = await prepare({ redirectUris: [WEB], grantTypes });
        expect(stored).toMatchObject({ grant_types: grantTypes, response_types: [] });
      }
    });

    it.each([['implicit'], ['password'], ['urn:ietf:params:oauth:grant-type:jwt-bearer'], ['client_secret_basic']])(
      'refuses the grant type %s',
      async (grant) => {
        await refusal({ redirectUris: [WEB], grantTypes: ['authorization_code', grant] }, 'invalid_client', new RegExp(`^unsupported grant type: ${grant}$`));
      },
    );

    it('refuses the code grant without a redirect URI', async () => {
      await refusal({ grantTypes: ['authorization_code'] }, 'invalid_client', /authorization_code needs at least one --redirect-uri/);
    });

    it('refuses client_credentials for a public client (it has nothing to authenticate with)', async () => {
      await refusal(
        { grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'none' },
        'invalid_client',
        /public client \(none\) cannot use client_credentials/,
      );
    });

    it('takes device_code as the RFC 8628 grant, once, when the server has the device flow on', async () => {
      const withDevices = (input: Partial<RegisterClientInput>) => prepareClient({ name: 'TV', ...input }, checksWith({ isDeviceFlowOn: true }));
      const { stored } = await withDevices({ grantTypes: ['device_code', 'urn:ietf:params:oauth:grant-type:device_code'], tokenEndpointAuthMethod: 'none' });
      expect(stored.grant_types).toEqual(['urn:ietf:params:oauth:grant-type:device_code']);
      expect(stored.response_types).toEqual([]);
    });

    it('refuses the device grant while the device flow is off (the engine does not offer it)', async () => {
      await refusal({ grantTypes: ['device_code'], tokenEndpointAuthMethod: 'none' }, 'invalid_client_metadata', /grant_types can only contain/);
    });
  });

  describe('client authentication', () => {
    it('gives a confidential client a secret, returned once and kept only as a keyed hash', async () => {
      const { stored, clientSecret } = await prepare({ redirectUris: [WEB] });
      expect(stored.token_endpoint_auth_method).toBe('client_secret_basic');
      expect(clientSecret).toMatch(/^[\w-]{32,}$/);
      expect(stored.client_secret).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(JSON.stringify(stored)).not.toContain(clientSecret);
      expect(stored.client_id).toMatch(/^[0-9a-f]{32}$/); // hex: never a leading '-' that reads as a CLI flag
    });

    it('gives a client_secret_post client a secret too, and a public client none', async () => {
      expect((await prepare({ redirectUris: [WEB], tokenEndpointAuthMethod: 'client_secret_post' })).clientSecret).toEqual(expect.any(String));
      const publicClient = await prepare({ redirectUris: [WEB], tokenEndpointAuthMethod: 'none' });
      expect(publicClient.clientSecret).toBeUndefined();
      expect(publicClient.stored).not.toHaveProperty('client_secret');
    });

    it.each([['client_secret_jwt'], ['tls_client_auth'], ['basic']])('refuses the token endpoint auth method %s', async (method) => {
      await refusal({ redirectUris: [WEB], tokenEndpointAuthMethod: method }, 'invalid_client', /token endpoint auth method must be one of/);
    });

    it('makes a client with public keys a private_key_jwt client without a secret (inline keys or a URL)', async () => {
      const inline = await prepare({ resources: [API], scope: 'read', jwks: { keys: [publicKeyJwk('svc-1')] } });
      expect(inline.stored).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kid: 'svc-1' }] } });
      expect(inline.clientSecret).toBeUndefined();
      const remote = await prepare({ resources: [API], scope: 'read', jwksUri: 'https://svc.example.test/jwks.json' });
      expect(remote.stored).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://svc.example.test/jwks.json' });
      expect(remote.clientSecret).toBeUndefined();
    });

    it.each<[string, Partial<RegisterClientInput>, RegExp]>([
      ['private_key_jwt without keys', { tokenEndpointAuthMethod: 'private_key_jwt' }, /private_key_jwt needs the client's public keys/],
      [
        'keys for a secret-based client',
        { tokenEndpointAuthMethod: 'client_secret_basic', jwksUri: 'https://svc.example.test/jwks.json' },
        /for private_key_jwt clients only/,
      ],
      ['both jwks and jwks_uri', { jwksUri: 'https://svc.example.test/jwks.json', jwks: { keys: [publicKeyJwk('a')] } }, /not both/],
      ['a jwks_uri over plain http to the network', { jwksUri: 'http://svc.example.test/jwks.json' }, /jwks_uri must be an https/],
      ['a jwks_uri with a fragment', { jwksUri: 'https://svc.example.test/jwks.json#k' }, /jwks_uri must be an https/],
      ['a JWK Set without keys', { jwks: { keys: [] } }, /1 to 20 public keys/],
      ['a JWK Set of 21 keys', { jwks: { keys: Array.from({ length: 21 }, (_, i) => publicKeyJwk(`k${i}`)) } }, /1 to 20 public keys/],
      ['something that is not a JWK Set', { jwks: [publicKeyJwk('a')] }, /must be a JWK Set/],
      ['a symmetric (oct) key', { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, /only public RSA, EC or OKP keys/],
      ['a private key', { jwks: { keys: [{ ...publicKeyJwk('a'), d: 'AAAA' }] } }, /public keys only/],
    ])('refuses %s', async (_what, input, message) => {
      await refusal({ resources: [API], scope: 'read', ...input }, 'invalid_client', message);
    });

    it("refuses a key whose members the engine cannot use (the engine's check)", async () => {
      await refusal(
        { resources: [API], scope: 'read', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'not a point' }] } },
        'invalid_client_metadata',
        /JSON Web Key Set is invalid/,
      );
    });
  });

  describe('APIs and scopes', () => {
    it('splits the scope into the standard scopes and the API scopes its APIs offer, once each', async () => {
      const { stored } = await prepare({ redirectUris: [WEB], resources: [API, API], scope: 'openid email read read write' });
      expect(stored).toMatchObject({ scope: 'openid email', allowed_resources: [API], allowed_api_scopes: ['read', 'write'] });
    });

    it('omits the scope when none is given (every standard scope), with no API scopes', async () => {
      const { stored } = await prepare({ redirectUris: [WEB] });
      expect(stored).not.toHaveProperty('scope');
      expect(stored).toMatchObject({ allowed_resources: [], allowed_api_scopes: [] });
    });

    it('refuses an unknown API', async () => {
      await refusal({ resources: ['https://nowhere.example.test'], scope: 'read' }, 'invalid_client', /^unknown resource: https:\/\/nowhere\.example\.test$/);
    });

    it("refuses an API scope none of the client's APIs offer, even one another API offers", async () => {
      await refusal({ resources: [API], scope: 'read delete' }, 'invalid_client', /^scope delete is not offered/);
      await refusal({ resources: [API], scope: 'read admin' }, 'invalid_client', /^scope admin is not offered/);
      await refusal({ scope: 'read' }, 'invalid_client', /^scope read is not offered/);
    });
  });

  describe('the rest of the metadata', () => {
    it('trims the name and refuses a blank one', async () => {
      expect((await prepareClient({ name: '  Nightly job  ', resources: [API], scope: 'read' }, checks)).stored.client_name).toBe('Nightly job');
      await expect(prepareClient({ name: '   ', resources: [API], scope: 'read' }, checks)).rejects.toMatchObject({
        code: 'invalid_client',
        message: 'name must not be empty',
      });
    });

    it('marks first-party clients and introspecting clients only when asked', async () => {
      const plain = (await prepare({ redirectUris: [WEB] })).stored;
      expect(plain).not.toHaveProperty('first_party');
      expect(plain.can_introspect).toBe(false);
      const own = (await prepare({ redirectUris: [WEB], isFirstParty: true, canIntrospect: true })).stored;
      expect(own).toMatchObject({ first_party: true, can_introspect: true });
    });

    it.each<[keyof RegisterClientInput, string, number, number]>([
      ['refreshTokenGraceSeconds', 'refresh_token_grace_seconds', 0, 300],
      ['refreshTokenIdleSeconds', 'refresh_token_idle_seconds', 60, MAX_ABSOLUTE],
      ['refreshTokenAbsoluteSeconds', 'refresh_token_absolute_seconds', 60, MAX_ABSOLUTE],
    ])('takes %s from its least to its most, and nothing outside or fractional', async (key, stored, min, max) => {
      for (const value of [min, max]) expect((await prepare({ redirectUris: [WEB], [key]: value })).stored[stored]).toBe(value);
      for (const value of [min - 1, max + 1, min + 0.5]) {
        await refusal({ redirectUris: [WEB], [key]: value }, 'invalid_client', new RegExp(`must be an integer between ${min} and ${max} seconds`));
      }
    });

    it('takes a token rate limit from 0 (none) to 1000000 per second, and nothing outside', async () => {
      for (const value of [0, 0.5, 1_000_000])
        expect((await prepare({ resources: [API], scope: 'read', tokenRateLimitPerSecond: value })).stored.token_rate_limit_per_second).toBe(value);
      for (const value of [-1, 1_000_001, Number.NaN, Number.POSITIVE_INFINITY]) {
        await refusal({ resources: [API], scope: 'read', tokenRateLimitPerSecond: value }, 'invalid_client', /token rate limit must be between 0 and 1000000/);
      }
    });
  });
});

describe('a client that registers itself (RFC 7591, RFC 7592): the policy in the engine', () => {
  const grants = createRegistrationGrants();
  const engine = new Provider(
    ENGINE_ISSUER,
    engineConfiguration({
      resources,
      registrationGrantFor: (ctx) => grants.get(ctx.req),
      selfService: { isDeviceFlowOn: true, registration: 'token', isClientIdMetadataDocumentOn: false },
    }),
  );
  // What oidc-provider's registration (and update) action does with the request body: its Client
  // schema applies the defaults, our metadata validator shapes it to the grant, then the engine's checks run.
  const EngineClient = engine.Client as unknown as new (metadata: object, ctx: object) => { metadata(): Record<string, unknown> };
  const register = (body: Record<string, unknown>, grant: SelfRegistrationGrant | undefined) => {
    const req = {} as IncomingMessage;
    if (grant) grants.set(req, grant);
    return new EngineClient({ client_id: 'c0ffee', ...body }, { req, oidc: { route: 'registration' } }).metadata();
  };
  const update = (body: Record<string, unknown>, existing: Record<string, unknown>) =>
    new EngineClient({ client_id: 'c0ffee', ...body }, { req: {}, oidc: { route: 'client_update', client: { metadata: () => existing } } }).metadata();
  const refused = (run: () => unknown, error: string, description: RegExp) =>
    expect(run).toThrow(expect.objectContaining({ error, error_description: expect.stringMatching(description) }));

  const publicOnly: SelfRegistrationGrant = { via: 'token', apis: [API], apiScopes: ['read'], mayBeConfidential: false };
  const confidential: SelfRegistrationGrant = { via: 'token', apis: [API], apiScopes: ['read', 'write'], mayBeConfidential: true };
  const open: SelfRegistrationGrant = { via: 'open', apis: [API], apiScopes: ['read', 'write'], mayBeConfidential: false };
  const app = { redirect_uris: ['http://127.0.0.1:9/callback'], token_endpoint_auth_method: 'none' };

  it('refuses a registration with no grant (an initial access token that grants nothing)', () => {
    refused(() => register(app, undefined), 'invalid_token', /.*/);
  });

  it("refuses a confidential client when the grant is for public clients only, the engine's default method included", () => {
    refused(() => register({ redirect_uris: app.redirect_uris }, publicOnly), 'invalid_client_metadata', /must be none: only public clients/);
    refused(() => register({ ...app, token_endpoint_auth_method: 'client_secret_post' }, publicOnly), 'invalid_client_metadata', /only public clients/);
  });

  it('takes a secret-based client where the grant allows one, but never private_key_jwt', () => {
    expect(register({ ...app, token_endpoint_auth_method: 'client_secret_post', client_secret: 'engine-made' }, confidential)).toMatchObject({
      token_endpoint_auth_method: 'client_secret_post',
    });
    refused(
      () => register({ ...app, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://svc.example.test/jwks' }, confidential),
      'invalid_client_metadata',
      /must be none or one of client_secret_basic, client_secret_post/,
    );
  });

  it('refuses client_credentials for a public client and grants outside the code, refresh and device grants', () => {
    refused(
      () => register({ ...app, grant_types: ['client_credentials'], response_types: [] }, open),
      'invalid_client_metadata',
      /grant_types may contain only/,
    );
    for (const grant of ['implicit', 'password']) {
      refused(() => register({ ...app, grant_types: ['authorization_code', grant] }, open), 'invalid_client_metadata', /grant_types may contain only/);
    }
    expect(
      register(
        { ...app, token_endpoint_auth_method: 'client_secret_basic', client_secret: 's', grant_types: ['client_credentials'], response_types: [] },
        confidential,
      ).grant_types,
    ).toEqual(['client_credentials']);
    expect(
      register({ token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], response_types: [] }, open).grant_types,
    ).toEqual(['urn:ietf:params:oauth:grant-type:device_code']);
  });

  it.each([['code id_token'], ['token'], ['id_token'], ['none']])('refuses the response type %s (code flow only)', (responseType) => {
    refused(() => register({ ...app, response_types: [responseType] }, open), 'invalid_client_metadata', /response_types can only contain 'code'/);
  });

  it.each([
    ['plain http to the network', 'http://app.example.test/callback'],
    ['a fragment', 'https://app.example.test/callback#x'],
    ['a private-use scheme', 'com.example.app:/callback'],
    ['javascript:', 'javascript:alert(1)'],
    ['a wildcard host', 'https://*.example.test/callback'],
    ['credentials', 'https://user:secret@app.example.test/callback'],
  ])('refuses a redirect URI with %s', (_what, uri) => {
    refused(
      () => register({ ...app, application_type: 'native', redirect_uris: [uri] }, open),
      'invalid_redirect_uri',
      /must each be an https:\/\/ URL without a fragment, credentials or wildcard/,
    );
  });

  it('refuses a redirect URI that is not a string, and a code-flow client without one', () => {
    refused(() => register({ ...app, redirect_uris: [42] }, open), 'invalid_redirect_uri', /must each be an https/);
    refused(() => register({ token_endpoint_auth_method: 'none' }, open), 'invalid_redirect_uri', /redirect_uris is mandatory/);
  });

  it('refuses a back-channel logout URI over plain http to the network', () => {
    refused(
      () => register({ ...app, backchannel_logout_uri: 'http://rp.example.test/logout' }, open),
      'invalid_client_metadata',
      /backchannel_logout_uri must be an https/,
    );
    expect(register({ ...app, backchannel_logout_uri: 'https://rp.example.test/logout' }, open).backchannel_logout_uri).toBe('https://rp.example.test/logout');
  });

  it('drops what only an operator may set, and replaces the APIs and origin with the grant’s', () => {
    const registered = register(
      {
        ...app,
        scope: 'openid read',
        first_party: true,
        can_introspect: true,
        token_rate_limit_per_second: 0,
        refresh_token_grace_seconds: 300,
        refresh_token_idle_seconds: 60,
        refresh_token_absolute_seconds: 60,
        allowed_resources: [OTHER_API],
        allowed_api_scopes: ['admin'],
        self_registered: 'metadata_document',
      },
      publicOnly,
    );
    for (const key of [
      'first_party',
      'can_introspect',
      'token_rate_limit_per_second',
      'refresh_token_grace_seconds',
      'refresh_token_idle_seconds',
      'refresh_token_absolute_seconds',
    ]) {
      expect(registered, key).not.toHaveProperty(key);
    }
    expect(registered).toMatchObject({ scope: 'openid', allowed_resources: [API], allowed_api_scopes: ['read'], self_registered: 'token' });
  });

  it("holds API scopes to the grant's, and gives every offered scope when the client names none", () => {
    refused(() => register({ ...app, scope: 'read write' }, publicOnly), 'invalid_client_metadata', /^scope write is not offered/);
    const unnamed = register({ ...app, scope: 'openid' }, open);
    expect(unnamed).toMatchObject({ scope: 'openid', allowed_api_scopes: ['read', 'write'] });
    const noScope = register(app, open);
    expect(noScope).not.toHaveProperty('scope'); // the server's own scopes
    expect(noScope.allowed_api_scopes).toEqual(['read', 'write']);
  });

  it('gives a grant without APIs no API and no API scope', () => {
    const none: SelfRegistrationGrant = { via: 'open', apis: [], apiScopes: [], mayBeConfidential: false };
    expect(register({ ...app, scope: 'openid' }, none)).toMatchObject({ allowed_resources: [], allowed_api_scopes: [] });
    refused(() => register({ ...app, scope: 'read' }, none), 'invalid_client_metadata', /^scope read is not offered/);
  });

  it('takes any API scope the client names when the grant does not list them (each API caps them at token time)', () => {
    const unlisted: SelfRegistrationGrant = { via: 'metadata_document', apis: [API], apiScopes: undefined, mayBeConfidential: false };
    expect(register({ ...app, scope: 'read anything' }, unlisted)).toMatchObject({ allowed_resources: [API], allowed_api_scopes: ['read', 'anything'] });
  });

  it('lets an update (RFC 7592) keep what the registration has, never widen it, and never touch an operator’s client', () => {
    const existing = { self_registered: 'open', allowed_resources: [API], allowed_api_scopes: ['read'], token_endpoint_auth_method: 'none' };
    expect(update({ ...app, client_name: 'Renamed', scope: 'read' }, existing)).toMatchObject({
      client_name: 'Renamed',
      allowed_api_scopes: ['read'],
      self_registered: 'open',
    });
    refused(() => update({ ...app, scope: 'read write' }, existing), 'invalid_client_metadata', /^scope write is not offered/);
    refused(() => update({ ...app, token_endpoint_auth_method: 'client_secret_basic' }, existing), 'invalid_client_metadata', /only public clients/);
    refused(() => update(app, { allowed_resources: [], token_endpoint_auth_method: 'none' }), 'invalid_client_metadata', /not registered dynamically/);
  });
});

describe('initial access tokens (REGISTRATION=token): what each grants', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let tokens: ReturnType<typeof createRegistrationTokens>;

  beforeAll(async () => {
    db = await createTestDatabase();
    tokens = createRegistrationTokens({
      knex: db.knex,
      resources,
      issue: async () => randomBytes(32).toString('base64url'), // the engine's InitialAccessToken value
    });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('grants the named APIs and scopes, or every scope of the APIs when none is named', async () => {
    const named = await tokens.create({ apis: [API], scope: 'openid read' });
    expect(named).toMatchObject({ apis: [API], apiScopes: ['read'], isPublicOnly: false });
    expect(await tokens.grantFor(named.token)).toEqual({ via: 'token', apis: [API], apiScopes: ['read'], mayBeConfidential: true });
    const all = await tokens.create({ apis: [API, OTHER_API], isPublicOnly: true });
    expect(await tokens.grantFor(all.token)).toEqual({ via: 'token', apis: [API, OTHER_API], apiScopes: ['read', 'write', 'admin'], mayBeConfidential: false });
  });

  it('grants nothing for a token it did not make, or an absurdly long one', async () => {
    expect(await tokens.grantFor('not-a-token')).toBeUndefined();
    expect(await tokens.grantFor('x'.repeat(513))).toBeUndefined();
    expect(await tokens.grantFor('')).toBeUndefined();
  });

  it.each<[string, Parameters<typeof tokens.create>[0], RegExp]>([
    ['a scope none of its APIs offer', { apis: [API], scope: 'read delete' }, /^scope delete is not offered/],
    ['an unknown API', { apis: ['https://nowhere.example.test'] }, /^unknown resource/],
    ['a life under a minute', { apis: [API], expiresInSeconds: 59 }, /expiry must be an integer between 60 and 31536000 seconds/],
    ['a life over a year', { apis: [API], expiresInSeconds: 365 * 86_400 + 1 }, /between 60 and 31536000/],
    ['a fractional life', { apis: [API], expiresInSeconds: 60.5 }, /between 60 and 31536000/],
  ])('refuses to make a token with %s', async (_what, input, message) => {
    await expect(tokens.create(input)).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(message) });
  });

  it('takes the shortest and the longest life', async () => {
    for (const expiresInSeconds of [60, 365 * 86_400]) {
      const { expiresAt } = await tokens.create({ apis: [API], expiresInSeconds });
      expect(expiresAt.getTime() - Date.now()).toBeGreaterThan((expiresInSeconds - 5) * 1000);
    }
  });
});
