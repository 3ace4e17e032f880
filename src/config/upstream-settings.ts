import { z } from 'zod';
import { isSecureUrl } from '../validation/secure-url.ts';

// UPSTREAM_GOOGLE_*, UPSTREAM_KAKAO_*, UPSTREAM_NAVER_*: the upstream sign-ins configured by environment.
const upstreamUrl = z.string().refine(isSecureUrl, 'must be an https:// URL (http:// only on a loopback address)');

/** Naver Login's OAuth 2.0 endpoints and profile API (fields under `response`). */
export const NAVER_ENDPOINTS = Object.freeze({
  authorizationUrl: 'https://nid.naver.com/oauth2.0/authorize',
  tokenUrl: 'https://nid.naver.com/oauth2.0/token',
  profileUrl: 'https://openapi.naver.com/v1/nid/me',
});

const UPSTREAM_NAMES = ['GOOGLE', 'KAKAO', 'NAVER'] as const;
const UPSTREAM_LABELS = { GOOGLE: 'Google', KAKAO: 'Kakao', NAVER: 'Naver' } as const;

/** UPSTREAM_<NAME>_CLIENT_ID / _CLIENT_SECRET / _SCOPES, plus its endpoints with their defaults. */
function upstreamKeys<N extends string, D extends Record<string, string>>(name: N, defaults: D) {
  return {
    [`UPSTREAM_${name}_CLIENT_ID`]: z.string().max(512).optional(),
    [`UPSTREAM_${name}_CLIENT_SECRET`]: z.string().max(4096).optional(),
    ...Object.fromEntries(
      Object.entries(defaults).map(([key, value]) => [`UPSTREAM_${name}_${key}`, key === 'SCOPES' ? z.string().default(value) : upstreamUrl.default(value)]),
    ),
  } as Record<`UPSTREAM_${N}_${'CLIENT_ID' | 'CLIENT_SECRET'}`, z.ZodOptional<z.ZodString>> &
    Record<`UPSTREAM_${N}_${keyof D & string}`, z.ZodDefault<z.ZodString>>;
}

/** The environment keys of every upstream, with their defaults. */
export const upstreamEnvKeys = {
  // Upstream sign-in (Google, Kakao: OpenID Connect; Naver: OAuth 2.0 and its profile API).
  // An upstream is on when its client id and secret are both set; endpoints are overridable.
  ...upstreamKeys('GOOGLE', { ISSUER: 'https://accounts.google.com', SCOPES: 'openid email profile' }),
  ...upstreamKeys('KAKAO', { ISSUER: 'https://kauth.kakao.com', SCOPES: 'openid account_email profile_nickname' }),
  ...upstreamKeys('NAVER', {
    AUTHORIZATION_URL: NAVER_ENDPOINTS.authorizationUrl,
    TOKEN_URL: NAVER_ENDPOINTS.tokenUrl,
    PROFILE_URL: NAVER_ENDPOINTS.profileUrl,
    SCOPES: '',
  }),
};

/** An upstream's client id and secret go together. */
export function refineUpstreams(env: object, ctx: z.RefinementCtx): void {
  for (const name of UPSTREAM_NAMES) {
    const has = (key: string) => Boolean((env as Record<string, unknown>)[`UPSTREAM_${name}_${key}`]);
    if (has('CLIENT_ID') !== has('CLIENT_SECRET')) {
      ctx.addIssue({ code: 'custom', path: [`UPSTREAM_${name}_CLIENT_SECRET`], message: `and UPSTREAM_${name}_CLIENT_ID go together` });
    }
  }
}

export function upstreamsFromEnv(e: object): UpstreamSettings[] {
  return UPSTREAM_NAMES.flatMap((name): UpstreamSettings[] => {
    const key = (k: string) => (e as Record<string, string | undefined>)[`UPSTREAM_${name}_${k}`];
    const clientId = key('CLIENT_ID');
    const clientSecret = key('CLIENT_SECRET');
    if (!clientId || !clientSecret) return [];
    const common = { id: name.toLowerCase(), name: UPSTREAM_LABELS[name], clientId, clientSecret, scope: key('SCOPES') ?? '' };
    return name === 'NAVER'
      ? [{ ...common, kind: 'naver' as const, authorizationUrl: key('AUTHORIZATION_URL'), tokenUrl: key('TOKEN_URL'), profileUrl: key('PROFILE_URL') }]
      : [{ ...common, kind: 'oidc' as const, issuer: key('ISSUER') }];
  });
}

/**
 * An upstream identity provider as configured: `oidc` discovers its endpoints from `issuer`;
 * `naver` has fixed OAuth 2.0 endpoints and a profile API.
 */
export type UpstreamSettings = Readonly<{
  id: string;
  kind: 'oidc' | 'naver';
  name: string;
  issuer?: string;
  authorizationUrl?: string;
  tokenUrl?: string;
  profileUrl?: string;
  clientId: string;
  clientSecret: string;
  scope: string;
}>;
