import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodeFlow } from './support/code-flow.ts';
import { type RedisTopologyUnderTest, startRedisCluster, startRedisSentinel } from './support/redis-topologies.ts';
import { signIn } from './support/sign-in.ts';
import { testRedisUrl } from './support/test-env.ts';
import { dropStorage, newStorage, startTestGatehouse, type TestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const API = 'https://api.topology.test';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const user = { email: 'scaled@example.test', password: 'a passphrase across many nodes' };

/** A user's whole life on one server: sign-in, refresh with reuse detection, revocation, sign-out everywhere. */
async function exerciseUserFlows(gh: TestGatehouse) {
  await gh.services.resources.createResource({ identifier: API, scope: 'read' });
  await gh.services.accounts.registerAccount(user);
  const { client, clientSecret } = await gh.services.clients.registerClient({
    name: 'Topology app',
    redirectUris: [REDIRECT_URI],
    scope: 'openid offline_access read',
    resources: [API],
    refreshTokenGraceSeconds: 0,
  });
  const config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
    execute: [oauth.allowInsecureRequests],
  });
  const tokensFor = async () => {
    const flow = await startCodeFlow(config, { redirect_uri: REDIRECT_URI, scope: 'openid offline_access read', prompt: 'consent', resource: API });
    return flow.redeem(await signIn(createUserAgent(), flow.url, user, REDIRECT_URI), { resource: API });
  };
  const introspect = async (token: string) => (await oauth.tokenIntrospection(config, token)).active;

  // Sign-in (session, interaction and code in Redis), then a rotation.
  const first = await tokensFor();
  const rotated = await oauth.refreshTokenGrant(config, first.refresh_token!, { resource: API });
  expect(rotated.refresh_token).not.toBe(first.refresh_token);

  // Reuse of the spent token revokes the chain (the grant index finds every token of the grant).
  await expect(oauth.refreshTokenGrant(config, first.refresh_token!, { resource: API })).rejects.toThrow();
  await expect(oauth.refreshTokenGrant(config, rotated.refresh_token!, { resource: API })).rejects.toThrow();
  expect(await introspect(rotated.access_token)).toBe(false);

  // A JWT revoked by RFC 7009 is reported inactive.
  const second = await tokensFor();
  await oauth.tokenRevocation(config, second.access_token);
  expect(await introspect(second.access_token)).toBe(false);

  // Sign out everywhere: the account index finds the sessions and tokens to delete.
  const third = await tokensFor();
  const result = await gh.services.signOutEverywhere(user.email);
  expect(result.deleted).toBeGreaterThan(0);
  await expect(oauth.refreshTokenGrant(config, third.refresh_token!, { resource: API })).rejects.toThrow();
  expect(await introspect(third.access_token)).toBe(false);
}

const topologies = [
  { name: 'a Redis Cluster (three masters)', start: startRedisCluster },
  { name: 'Redis Sentinel', start: () => startRedisSentinel() },
];

for (const topology of topologies) {
  describe.runIf(testRedisUrl)(`Gatehouse on ${topology.name}`, () => {
    const storage = newStorage();
    let redis: RedisTopologyUnderTest;
    let gh: TestGatehouse;

    beforeAll(async () => {
      redis = await topology.start();
      // REDIS_URL empty = unset: the topology's own variables choose the servers.
      gh = await startTestGatehouse(storage, { REDIS_URL: '', ...redis.env });
    });
    afterAll(async () => {
      await gh?.stop();
      await redis?.stop();
      await dropStorage(storage);
    });

    it('reports Redis ready', async () => {
      const res = await fetch(`${gh.issuer}/readyz`);
      expect(res.status).toBe(200);
      expect(gh.redis!.status).toBe('ready');
    });

    it('runs sign-in, refresh rotation with reuse detection, revocation and sign-out everywhere', async () => {
      await exerciseUserFlows(gh);
    });
  });
}
