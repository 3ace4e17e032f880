import { decodeJwt } from 'jose';
import * as oauth from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier, VerificationError, type Verifier } from '../src/verifier/index.ts';
import { accessTokens, tamperSignature } from './support/access-tokens.ts';
import { type TestGatehouse, useTestGatehouse } from './support/test-gatehouse.ts';

/**
 * One table of access tokens, run against every place that checks one: the admin API,
 * /forward-auth, introspection, revocation and gatehouse/verifier. They share one checker, so
 * the same token must get the same verdict everywhere (a token 5 s past exp once got 200 from
 * /forward-auth and active:false from introspection).
 */
type Verdict = 'accepted' | 'refused';
const ENTRY_POINTS = ['admin API', 'forward-auth', 'introspection', 'gatehouse/verifier', 'revocation'] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];
const everywhere = (verdict: Verdict) => Object.fromEntries(ENTRY_POINTS.map((e) => [e, verdict])) as Record<EntryPoint, Verdict>;

// The one clock skew every checker allows (the verifier's default, the server's setting).
const SKEW_SECONDS = 5;
const REVOKED = { jti: 'revoked-jti-0001', gid: 'revoked-grant-digest', sub: 'signed-out-user', clientId: 'deleted-client-0001' };

describe('one access-token check at every entry point', () => {
  const gh = useTestGatehouse();
  let audience: string;
  let ops: { id: string; secret: string };
  let introspector: { id: string; secret: string };
  let tokens: ReturnType<typeof accessTokens>;
  let verifier: Verifier;

  const basic = (c: { id: string; secret: string }) => `Basic ${btoa(`${c.id}:${c.secret}`)}`;
  const form = (path: string, c: { id: string; secret: string }, body: Record<string, string>) =>
    fetch(`${gh.issuer}${path}`, {
      method: 'POST',
      headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  const now = () => Math.floor(Date.now() / 1000);

  /** Each entry point's verdict on one token; anything but a clear accept or refusal is reported as is. */
  const verdicts: Record<EntryPoint, (token: string) => Promise<Verdict | string>> = {
    'admin API': async (token) => {
      const res = await fetch(`${gh.issuer}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 200) return 'accepted';
      return res.status === 401 && res.headers.get('www-authenticate') ? 'refused' : `status ${res.status}`;
    },
    'forward-auth': async (token) => {
      const res = await fetch(`${gh.issuer}/forward-auth?audience=${encodeURIComponent(audience)}&scope=admin`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status === 200) return 'accepted';
      return res.status === 401 ? 'refused' : `status ${res.status}`;
    },
    introspection: async (token) => {
      const res = await form('/token/introspection', introspector, { token });
      if (res.status !== 200) return `status ${res.status}`;
      return ((await res.json()) as { active: boolean }).active ? 'accepted' : 'refused';
    },
    'gatehouse/verifier': async (token) => {
      try {
        await verifier.verify(token);
        return 'accepted';
      } catch (err) {
        return err instanceof VerificationError && err.status === 401 ? 'refused' : String(err);
      }
    },
    // RFC 7009 answers 200 either way: whether the token was taken as valid shows in what was revoked.
    revocation: async (token) => {
      const res = await form('/token/revocation', ops, { token });
      if (res.status !== 200) return `status ${res.status}`;
      let jti: unknown;
      try {
        jti = decodeJwt(token).jti;
      } catch {
        return 'refused';
      }
      await gh.services.audit.flush();
      const revoked = await gh.services.audit.list({ type: 'token.revoked', clientId: ops.id, limit: 1000 });
      return revoked.some((e) => e.details?.jti === jti) ? 'accepted' : 'refused';
    },
  };

  beforeAll(async () => {
    audience = `${gh.issuer}/admin`;
    const register = async (input: Parameters<TestGatehouse['services']['clients']['registerClient']>[0]) => {
      const { client, clientSecret } = await gh.services.clients.registerClient(input);
      return { id: client.client_id, secret: clientSecret! };
    };
    ops = await register({ name: 'ops', grantTypes: ['client_credentials'], resources: [audience], scope: 'admin' });
    // An API's own client, registered for the API whose tokens it introspects and follows the feed of.
    introspector = await register({ name: 'the admin API itself', canIntrospect: true, resources: [audience] });
    tokens = accessTokens(gh, { audience, clientId: ops.id });

    const exp = now() + 600;
    await gh.services.revocations.record({ type: 'token', jti: REVOKED.jti, exp });
    await gh.services.revocations.record({ type: 'grant', gid: REVOKED.gid, exp });
    await gh.services.revocations.record({ type: 'subject', sub: REVOKED.sub, iat_before: now(), exp });
    await gh.services.revocations.record({ type: 'client', client_id: REVOKED.clientId, exp });

    verifier = createVerifier({
      issuer: gh.issuer,
      audience,
      logger: { warn: () => {} },
      revocation: { clientId: introspector.id, clientSecret: introspector.secret, pollIntervalMs: 100 },
    });
    await verifier.ready();
    // The feed followers (forward-auth's mirror, the verifier) have seen the last event recorded.
    const lastRevoked = await tokens.signed({ scope: 'admin', client_id: REVOKED.clientId });
    await vi.waitFor(
      async () => {
        expect(await verdicts['forward-auth'](lastRevoked)).toBe('refused');
        expect(await verdicts['gatehouse/verifier'](lastRevoked)).toBe('refused');
      },
      { timeout: 10_000, interval: 100 },
    );
  });
  afterAll(async () => {
    await verifier?.close();
  });

  const signed = (claims: Parameters<typeof tokens.signed>[0] = {}, header: Parameters<typeof tokens.signed>[1] = {}) =>
    tokens.signed({ scope: 'admin', ...claims }, header);
  const DPOP_BOUND = { ...everywhere('refused'), introspection: 'accepted', revocation: 'accepted' } as Record<EntryPoint, Verdict>;
  // Its own client may revoke a revoked token again (RFC 7009 §2.2: 200 either way; the request is audited).
  const REVOKED_BUT_REVOCABLE = { ...everywhere('refused'), revocation: 'accepted' } as Record<EntryPoint, Verdict>;

  it.each<[string, () => Promise<string>, Record<EntryPoint, Verdict>]>([
    [
      'a token from the token endpoint',
      async () => {
        const config = await oauth.discovery(new URL(gh.issuer), ops.id, undefined, oauth.ClientSecretBasic(ops.secret), {
          execute: [oauth.allowInsecureRequests],
        });
        return (await oauth.clientCredentialsGrant(config, { resource: audience, scope: 'admin' })).access_token;
      },
      everywhere('accepted'),
    ],
    ['a token signed like Gatehouse signs', () => signed(), everywhere('accepted')],
    ['a token past exp, within the skew', () => signed({ iat: now() - 300, exp: now() - (SKEW_SECONDS - 3) }), everywhere('accepted')],
    ['a token past exp, beyond the skew', () => signed({ iat: now() - 300, exp: now() - (SKEW_SECONDS + 25) }), everywhere('refused')],
    ['a token not valid yet (nbf), within the skew', () => signed({ nbf: now() + 2 }), everywhere('accepted')],
    ['a token not valid yet (nbf), beyond the skew', () => signed({ nbf: now() + SKEW_SECONDS + 30 }), everywhere('refused')],
    ['a token issued in the future, beyond the skew', () => signed({ iat: now() + SKEW_SECONDS + 30 }), everywhere('refused')],
    ['a token from another issuer', () => signed({ iss: 'https://evil.test' }), everywhere('refused')],
    // The issuer checks no audience: the API's own client may not introspect another API's token,
    // but the client it was issued to may revoke it (RFC 7009 §2.1).
    ['a token for another audience', () => signed({ aud: 'https://other-api.test' }), { ...everywhere('refused'), revocation: 'accepted' }],
    ['a JWT that is not an access token (typ JWT)', () => signed({}, { typ: 'JWT' }), everywhere('refused')],
    ['a token without client_id', () => signed({ client_id: undefined }), everywhere('refused')],
    ['a token without jti', () => signed({ jti: undefined }), everywhere('refused')],
    ['a token whose sub is not a string', () => signed({ sub: 42 as unknown as string }), everywhere('refused')],
    ['an unsigned token (alg none)', () => tokens.unsigned(), everywhere('refused')],
    ['HS256 keyed with the public key', () => tokens.hmacWithPublicKey(), everywhere('refused')],
    ['a token signed by a key Gatehouse never published', () => tokens.foreignKid(), everywhere('refused')],
    ['a token with a tampered signature', async () => tamperSignature(await signed()), everywhere('refused')],
    ['a token with an empty signature', async () => `${(await signed()).split('.').slice(0, 2).join('.')}.`, everywhere('refused')],
    ['a string that is not a JWT', async () => 'not-a-jwt', everywhere('refused')],
    ['a token revoked by jti', () => signed({ jti: REVOKED.jti }), REVOKED_BUT_REVOCABLE],
    ['a token of a revoked grant', () => signed({ gid: REVOKED.gid }), REVOKED_BUT_REVOCABLE],
    ['a token of a user who signed out everywhere since', () => signed({ sub: REVOKED.sub, iat: now() - 60 }), REVOKED_BUT_REVOCABLE],
    // (Its client is gone, so nobody may revoke it: the caller here is another client.)
    ['a token of a deleted client', () => signed({ client_id: REVOKED.clientId, sub: REVOKED.clientId }), everywhere('refused')],
    // RFC 9449: a resource server needs the DPoP scheme and a proof; the issuer reports the binding.
    ['a DPoP-bound token presented as a bearer token', () => signed({ cnf: { jkt: 'bm90LWEtcmVhbC10aHVtYnByaW50LW9mLWEta2V5' } }), DPOP_BOUND],
  ])('%s', async (_name, make, expected) => {
    const token = await make();
    const seen = {} as Record<EntryPoint, Verdict | string>;
    for (const entry of ENTRY_POINTS) seen[entry] = await verdicts[entry](token); // revocation last: it changes state
    expect(seen).toEqual(expected);
  });
});
