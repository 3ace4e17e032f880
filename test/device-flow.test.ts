import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { approveDevice, xsrfOf } from './support/device-pages.ts';
import { testRedisUrl } from './support/test-env.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.example.test';
const user = { email: 'cli@example.test', password: 'correct horse battery staple' };

const backends = [
  { name: 'device codes in Redis', useRedis: true, enabled: Boolean(testRedisUrl) },
  { name: 'device codes in Postgres (no Redis)', useRedis: false, enabled: true },
];

for (const backend of backends)
  describe.runIf(backend.enabled)(`device authorization grant (RFC 8628), ${backend.name}`, () => {
    // TRUST_PROXY=1: the brute-force test speaks from an address of its own (X-Forwarded-For).
    const gh = useTestGatehouse({ DEVICE_FLOW: 'true', TRUST_PROXY: '1' }, { useRedis: backend.useRedis });
    let config: oauth.Configuration;

    beforeAll(async () => {
      await gh.services.resources.createResource({ identifier: API, scope: 'read write' });
      await gh.services.accounts.registerAccount({ ...user, name: 'Cli User' });
      const { client } = await gh.services.clients.registerClient({
        name: 'Gatehouse CLI',
        grantTypes: ['device_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'none',
        scope: 'openid offline_access read',
        resources: [API],
      });
      config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.None(), { execute: [oauth.allowInsecureRequests] });
    });

    /** Polls as soon as the user is done (the server sends no interval; openid-client would wait 5 s). */
    const poll = (response: oauth.DeviceAuthorizationResponse) => oauth.pollDeviceAuthorizationGrant(config, { ...response, interval: 0.05 });

    it('advertises the device authorization endpoint in discovery', () => {
      expect(config.serverMetadata().device_authorization_endpoint).toBe(`${gh.issuer}/device/auth`);
      expect(config.serverMetadata().registration_endpoint).toBeUndefined(); // REGISTRATION is off by default
    });

    it('gives a command-line tool an API token after the user enters its code, signs in and confirms', async () => {
      const response = await oauth.initiateDeviceAuthorization(config, { scope: 'openid offline_access read', resource: API });
      expect(response.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      expect(response.verification_uri).toBe(`${gh.issuer}/device`);

      const done = await approveDevice(createUserAgent(), gh.issuer, response.user_code, user);
      expect(done.status).toBe(200);
      expect(done.body).toContain('Your device is connected');
      expect(done.body).toContain('Gatehouse CLI');

      const tokens = await poll(response);
      expect(tokens.refresh_token).toBeTruthy();
      const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), {
        issuer: gh.issuer,
        audience: API,
        typ: 'at+jwt',
      });
      expect(payload).toMatchObject({ scope: 'read', client_id: config.clientMetadata().client_id });
      expect(tokens.claims()?.sub).toBe(payload.sub);
    });

    it('accepts the code typed in lower case with spaces, and speaks Korean when the browser asks', async () => {
      const response = await oauth.initiateDeviceAuthorization(config, { scope: 'openid read', resource: API });
      const sloppy = response.user_code.toLowerCase().replace('-', ' ');
      const done = await approveDevice(createUserAgent(), gh.issuer, sloppy, user, { headers: { 'accept-language': 'ko-KR,ko;q=0.9' } });
      expect(done.body).toContain('<html lang="ko">');
      expect(done.body).toContain('기기가 연결되었습니다');
      await expect(poll(response)).resolves.toMatchObject({ token_type: expect.stringMatching(/bearer/i) });
    });

    it('tells the device access_denied when the user cancels on the confirmation page', async () => {
      const response = await oauth.initiateDeviceAuthorization(config, { scope: 'openid', resource: API });
      const page = await approveDevice(createUserAgent(), gh.issuer, response.user_code, user, { answer: 'abort' });
      expect(page.body).toContain('The request was cancelled');
      await expect(poll(response)).rejects.toMatchObject({ error: 'access_denied' });
    });

    it('opens verification_uri_complete on a page of ours, the code filled in, without any script', async () => {
      const response = await oauth.initiateDeviceAuthorization(config, { scope: 'openid', resource: API });
      const res = await fetch(response.verification_uri_complete!, { headers: { accept: 'text/html' } });
      const body = await res.text();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(body).not.toContain('<script');
      expect(body).toContain(`value="${response.user_code}"`);
      expect(body).toContain('action="/device"');
    });

    it('answers a wrong code with a 400 page, and slows down an address that keeps guessing (§5.1)', async () => {
      const ua = createUserAgent();
      const guesser = { accept: 'text/html', 'x-forwarded-for': '203.0.113.77' };
      const guess = async (userCode: string) => {
        const entry = await ua.request(`${gh.issuer}/device`, { headers: guesser });
        const xsrf = xsrfOf(await entry.text());
        const res = await ua.request(`${gh.issuer}/device`, {
          method: 'POST',
          headers: { ...guesser, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ xsrf, user_code: userCode }).toString(),
        });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
      };
      for (let i = 0; i < 5; i += 1) {
        const wrong = await guess(`BCDF-GHJ${'BCDFG'[i]}`);
        expect(wrong.status).toBe(400);
        expect(wrong.body).toContain('That code is not valid');
      }
      // The sixth guess in a row waits, even with a real code: the throttle decides before any lookup.
      const response = await oauth.initiateDeviceAuthorization(config, { scope: 'openid', resource: API });
      const refused = await guess(response.user_code);
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(refused.body).not.toContain('name="confirm"');
      // Another address is not slowed down by it.
      const done = await approveDevice(createUserAgent(), gh.issuer, response.user_code, user);
      expect(done.body).toContain('Your device is connected');
    });

    it('refuses the device code grant to a client not registered for it', async () => {
      const { client } = await gh.services.clients.registerClient({
        name: 'Web only',
        redirectUris: ['http://127.0.0.1:9/cb'],
        tokenEndpointAuthMethod: 'none',
      });
      const web = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.None(), { execute: [oauth.allowInsecureRequests] });
      // oidc-provider's answer (RFC 8628 §3.2 leaves the code to RFC 6749 §5.2).
      await expect(oauth.initiateDeviceAuthorization(web, { scope: 'openid' })).rejects.toMatchObject({
        error: 'invalid_request',
        error_description: expect.stringContaining('device_code is not allowed for this client'),
      });
    });
  });
