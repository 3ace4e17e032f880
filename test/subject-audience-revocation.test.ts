import { describe, expect, it, vi } from 'vitest';
import { accessTokens } from './support/access-tokens.ts';
import { testRedisUrl } from './support/test-env.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';

const DOCS = 'https://docs.subject-audience.test';
const WIKI = 'https://wiki.subject-audience.test';

const backends = [
  { name: 'Redis', useRedis: true, enabled: Boolean(testRedisUrl) },
  { name: 'Postgres (no Redis)', useRedis: false, enabled: true },
];

/**
 * The `subject_audience` revocation event (a role taken away with --revoke-tokens): every token
 * of one user for one API issued up to a second, and nothing else, in both stores and at
 * /forward-auth, whose mirror follows the feed.
 */
for (const backend of backends) {
  describe.runIf(backend.enabled)(`per-user, per-API revocation in ${backend.name}`, () => {
    const gh = useTestGatehouse({}, { useRedis: backend.useRedis });
    const now = () => Math.floor(Date.now() / 1000);

    it("covers the user's tokens for that API issued up to the cut-off, and no others", async () => {
      const cutOff = now();
      await gh.services.revocations.record({ type: 'subject_audience', sub: 'user-1', aud: DOCS, iat_before: cutOff, exp: cutOff + 600 });
      const isRevoked = (sub: string, aud: string[], iat: number) => gh.services.revocations.isRevoked({ jti: 'j', sub, aud, iat, clientId: 'c' });
      expect(await isRevoked('user-1', [DOCS], cutOff - 5)).toBe(true);
      expect(await isRevoked('user-1', [DOCS], cutOff)).toBe(true);
      expect(await isRevoked('user-1', [WIKI, DOCS], cutOff - 5)).toBe(true); // aud may be a list
      expect(await isRevoked('user-1', [DOCS], cutOff + 1)).toBe(false); // issued after
      expect(await isRevoked('user-1', [WIKI], cutOff - 5)).toBe(false); // another API
      expect(await isRevoked('user-2', [DOCS], cutOff - 5)).toBe(false); // another user
    });

    it("is refused at /forward-auth within a poll, while the user's token for another API passes", async () => {
      const docs = accessTokens(gh, { audience: DOCS, clientId: 'web' });
      const wiki = accessTokens(gh, { audience: WIKI, clientId: 'web' });
      const [docsToken, wikiToken] = [await docs.signed({ sub: 'user-3', iat: now() - 2 }), await wiki.signed({ sub: 'user-3', iat: now() - 2 })];
      const check = (token: string, audience: string) =>
        fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(audience)}`, { headers: { authorization: `Bearer ${token}` } });
      expect((await check(docsToken, DOCS)).status).toBe(200);
      await gh.services.revocations.record({ type: 'subject_audience', sub: 'user-3', aud: DOCS, iat_before: now(), exp: now() + 600 });
      await vi.waitFor(async () => expect((await check(docsToken, DOCS)).status).toBe(401), { timeout: 8000, interval: 100 });
      expect((await check(wikiToken, WIKI)).status).toBe(200);
    });
  });
}
