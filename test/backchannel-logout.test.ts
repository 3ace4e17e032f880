import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationUrl } from './support/page-flow.ts';
import { signIn } from './support/sign-in.ts';
import { testRedisUrl } from './support/test-env.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'bcl-user@example.test', password: 'correct horse battery staple' };
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const backends = [
  { name: 'sessions in Redis', useRedis: true, enabled: Boolean(testRedisUrl) },
  { name: 'sessions in Postgres (no Redis)', useRedis: false, enabled: true },
];

/** OIDC Back-Channel Logout 1.0: clients that registered a backchannel_logout_uri hear of sign-outs. */
for (const backend of backends)
  describe.runIf(backend.enabled)(`back-channel logout, ${backend.name}`, () => {
    // The receivers run on this machine, over plain http: allowed for this test only.
    const gh = useTestGatehouse({}, { useRedis: backend.useRedis, outboundFetch: { allowPrivateAddresses: true, allowHttp: true } });
    let receiver: Server;
    let receiverUrl: string;
    const received: string[] = [];
    let rp: oauth.Configuration;
    let rpId: string;
    let other: oauth.Configuration;

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c));
        req.on('end', () => {
          if (req.url === '/logout') received.push(new URLSearchParams(body).get('logout_token') ?? '');
          res.writeHead(req.url === '/logout' ? 200 : 500).end();
        });
      });
      receiver.listen(0, '127.0.0.1');
      await once(receiver, 'listening');
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      await gh.services.accounts.registerAccount(user);
      const register = async (name: string, backchannelLogoutUri: string) => {
        const { client, clientSecret } = await gh.services.clients.registerClient({
          name,
          redirectUris: [REDIRECT_URI],
          scope: 'openid',
          backchannelLogoutUri,
        });
        return {
          id: client.client_id,
          config: await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
            execute: [oauth.allowInsecureRequests],
          }),
        };
      };
      ({ id: rpId, config: rp } = await register('Listening RP', `${receiverUrl}/logout`));
      ({ config: other } = await register('Broken RP', `${receiverUrl}/broken`));
    });
    afterAll(async () => {
      receiver?.closeAllConnections();
      receiver?.close();
    });

    /** Checks one logout token as an RP must (§2.6) and returns its claims. */
    async function verifyLogoutToken(token: string) {
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: rpId });
      expect(decodeProtectedHeader(token).typ).toBe('logout+jwt');
      expect(payload.events).toEqual({ [BACKCHANNEL_EVENT]: {} });
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload.nonce).toBeUndefined();
      return payload;
    }

    const signInTo = async (ua: UserAgent, config: oauth.Configuration) =>
      signIn(ua, await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' }), user, REDIRECT_URI);

    it('sends a logout token when the user signs out at /session/end', async () => {
      const ua = createUserAgent();
      await signInTo(ua, rp);
      const page = await (await ua.get(`${gh.issuer}/session/end`)).text();
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
      received.length = 0;
      const res = await ua.postForm(`${gh.issuer}/session/end/confirm`, { xsrf, logout: 'yes' });
      expect(res.status).toBeLessThan(400);
      expect(received).toHaveLength(1);
      const claims = await verifyLogoutToken(received[0]!);
      expect(claims.sub).toBe((await gh.services.accounts.findByEmail(user.email))!.id);
    });

    it('sends logout tokens when the user is signed out everywhere, and a client that fails does not stop it', async () => {
      await signInTo(createUserAgent(), rp);
      await signInTo(createUserAgent(), other);
      received.length = 0;
      const result = await gh.services.signOutEverywhere(user.email);
      expect(received.length).toBeGreaterThanOrEqual(1);
      for (const token of received) await verifyLogoutToken(token);
      const account = (await gh.services.accounts.findByEmail(user.email))!;
      expect(result.accountId).toBe(account.id);
      await gh.services.audit.flush();
      const events = await gh.services.audit.list({ accountId: account.id });
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['backchannel_logout.sent', 'backchannel_logout.failed', 'user.signed_out_everywhere']));
      const summary = events.find((e) => e.type === 'user.signed_out_everywhere')!;
      expect(summary.details).toMatchObject({ backchannel_logout: { sent: 1, failed: 1 } });
    });

    it('is a service an account deleter can call: read the sign-ins before purging, send after', async () => {
      const ua = createUserAgent();
      await signInTo(ua, rp);
      const account = (await gh.services.accounts.findByEmail(user.email))!;
      const logout = await gh.services.backchannelLogout.prepare(account.id);
      received.length = 0;
      const { sent } = await logout.send();
      expect(sent).toBeGreaterThanOrEqual(1);
      expect((await verifyLogoutToken(received[0]!)).sub).toBe(account.id);
    });
  });
