import { beforeAll, describe, expect, it, vi } from 'vitest';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const API = 'https://api.rate.test';
type Registered = { clientId: string; clientSecret: string };

describe('token endpoint rate limit per client', () => {
  // 2 per second, a burst of 4.
  const gh = useTestGatehouse({ TOKEN_RATE_LIMIT_PER_SECOND: '2' });
  let noisy: Registered;
  let quiet: Registered;
  let impersonated: Registered;

  const register = async (name: string, tokenRateLimitPerSecond?: number, tokenEndpointAuthMethod?: string): Promise<Registered> => {
    const { client, clientSecret } = await gh.services.clients.registerClient({
      name,
      grantTypes: ['client_credentials'],
      scope: 'read',
      resources: [API],
      tokenRateLimitPerSecond,
      tokenEndpointAuthMethod,
    });
    return { clientId: client.client_id, clientSecret: clientSecret! };
  };
  const requestToken = (c: Registered, secret = c.clientSecret) =>
    fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }),
    });

  beforeAll(async () => {
    await gh.services.resources.createResource({ identifier: API, scope: 'read' });
    noisy = await register('Noisy job');
    quiet = await register('Quiet service');
    impersonated = await register('Well-known id');
  });

  it('answers a client over its rate with 429 and Retry-After while another client still gets tokens', async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 10; i += 1) {
      const res = await requestToken(noisy);
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
      else await res.body?.cancel();
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(4);
    expect(statuses.filter((s) => s === 200).length).toBeLessThan(10);
    expect(refused!.headers.get('retry-after')).toBe('1');
    expect(refused!.headers.get('cache-control')).toBe('no-store');
    expect(await refused!.json()).toEqual({ error: 'rate_limited', error_description: expect.any(String) });

    const other = await requestToken(quiet);
    expect(other.status).toBe(200);
    expect((await other.json()).access_token).toBeTruthy();

    // The bucket refills: the noisy client gets tokens again.
    await vi.waitFor(async () => expect((await requestToken(noisy)).status).toBe(200), { timeout: 5000, interval: 200 });
  });

  it("applies a client's own rate when it has one: none at all (0), or its own number", async () => {
    const unlimited = await register('Bulk importer', 0);
    const statuses = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const res = await requestToken(unlimited);
        await res.body?.cancel();
        return res.status;
      }),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);

    const slow = await register('Slow poller', 0.5); // a burst of 1, then one every 2 s
    const first = await requestToken(slow);
    expect(first.status).toBe(200);
    const second = await requestToken(slow);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('2');
  });

  it('holds the per-client rate whatever the case of the Basic scheme, and for credentials in the form', async () => {
    // RFC 9110 §11.1: the scheme is case-insensitive, and oidc-provider accepts any case, so the
    // limiter must read the client id from every spelling (and from client_secret_post).
    const encode = (c: Registered) => Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64');
    const styles: Record<string, (c: Registered) => RequestInit> = {
      basic: (c) => ({ headers: { authorization: `basic ${encode(c)}` } }),
      BASIC: (c) => ({ headers: { authorization: `BASIC ${encode(c)}` } }),
      form: (c) => ({ body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', client_id: c.clientId, client_secret: c.clientSecret }) }),
    };
    for (const [style, init] of Object.entries(styles)) {
      // A burst of 1, then one every 2 s; form credentials need a client registered for them.
      const client = await register(`Spelling ${style}`, 0.5, style === 'form' ? 'client_secret_post' : undefined);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        const { headers, body } = init(client);
        const res = await fetch(`${gh.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(headers as Record<string, string>) },
          body: body ?? new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }),
        });
        statuses.push(res.status);
        await res.body?.cancel();
      }
      expect(statuses, style).toEqual([200, 429, 429, 429]);
    }
  });

  it("does not let wrong credentials for a client id use up that client's rate", async () => {
    for (let i = 0; i < 10; i += 1) {
      const res = await requestToken(impersonated, 'not-the-secret');
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
    const res = await requestToken(impersonated);
    expect(res.status).toBe(200);
  });
});
