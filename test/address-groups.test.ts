import { beforeAll, describe, expect, it } from 'vitest';
import { addressGroup } from '../src/throttle/address-group.ts';
import { rawRequest } from './support/raw-http.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('per-address limits and IPv6', () => {
  it('groups an IPv6 address by its /64, the least an ISP hands one customer, and keeps IPv4 whole', () => {
    expect(addressGroup('2001:db8:1:2::1')).toBe(addressGroup('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressGroup('2001:0db8:0001:0002::7')).toBe(addressGroup('2001:db8:1:2::8'));
    expect(addressGroup('2001:db8:1:2::1')).not.toBe(addressGroup('2001:db8:1:3::1'));
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7'); // IPv4-mapped is the IPv4 address
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('203.0.113.8')).not.toBe(addressGroup('203.0.113.7'));
    expect(addressGroup('fe80::1%eth0')).toBe(addressGroup('fe80::2'));
    expect(addressGroup('not an address')).toBe('not an address');
  });

  describe('behind one trusted proxy', () => {
    const gh = useTestGatehouse({ AUTHORIZATION_RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '1' });
    let clientId: string;
    beforeAll(async () => {
      clientId = (await gh.services.clients.registerClient({ name: 'v6 app', redirectUris: [REDIRECT_URI], scope: 'openid' })).client.client_id;
    });

    // The attack: every request from a new address of the attacker's own /64 (2^64 of them).
    it('does not let rotating addresses of one IPv6 /64 past the per-address /auth limit', async () => {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        state: 'st',
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      });
      const statuses: number[] = [];
      for (let i = 1; i <= 6; i += 1) {
        const res = await rawRequest(gh.issuer, {
          path: `/auth?${query}`,
          headers: { accept: 'text/html', 'x-forwarded-for': `2001:db8:77:1::${i.toString(16)}` },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([303, 303, 303, 429, 429, 429]);
      // Another /64 is another customer.
      const other = await rawRequest(gh.issuer, { path: `/auth?${query}`, headers: { accept: 'text/html', 'x-forwarded-for': '2001:db8:77:2::1' } });
      expect(other.status).toBe(303);
    });
  });
});
