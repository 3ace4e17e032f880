import { describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../src/config/load-config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as ConfigError).problems;
  }
  throw new Error('accepted');
}

describe('upstream settings from the environment', () => {
  it('has no upstream unless a client id and secret are set', () => {
    expect(loadConfig({}).upstreams).toEqual([]);
  });

  it('turns on Google, Kakao and Naver with their public endpoints by default', () => {
    const config = loadConfig({
      UPSTREAM_GOOGLE_CLIENT_ID: 'g',
      UPSTREAM_GOOGLE_CLIENT_SECRET: 'gs',
      UPSTREAM_KAKAO_CLIENT_ID: 'k',
      UPSTREAM_KAKAO_CLIENT_SECRET: 'ks',
      UPSTREAM_NAVER_CLIENT_ID: 'n',
      UPSTREAM_NAVER_CLIENT_SECRET: 'ns',
    });
    expect(config.upstreams).toEqual([
      { id: 'google', kind: 'oidc', name: 'Google', issuer: 'https://accounts.google.com', clientId: 'g', clientSecret: 'gs', scope: 'openid email profile' },
      {
        id: 'kakao',
        kind: 'oidc',
        name: 'Kakao',
        issuer: 'https://kauth.kakao.com',
        clientId: 'k',
        clientSecret: 'ks',
        scope: 'openid account_email profile_nickname',
      },
      {
        id: 'naver',
        kind: 'naver',
        name: 'Naver',
        clientId: 'n',
        clientSecret: 'ns',
        scope: '',
        authorizationUrl: 'https://nid.naver.com/oauth2.0/authorize',
        tokenUrl: 'https://nid.naver.com/oauth2.0/token',
        profileUrl: 'https://openapi.naver.com/v1/nid/me',
      },
    ]);
  });

  it('refuses a client id without its secret, and endpoints over plain http off loopback', () => {
    expect(problemsOf({ UPSTREAM_GOOGLE_CLIENT_ID: 'g' })).toEqual([expect.stringMatching(/^UPSTREAM_GOOGLE_CLIENT_SECRET/)]);
    expect(problemsOf({ UPSTREAM_GOOGLE_ISSUER: 'http://accounts.example.com' })).toEqual([expect.stringMatching(/^UPSTREAM_GOOGLE_ISSUER must be an https/)]);
    expect(loadConfig({ UPSTREAM_NAVER_TOKEN_URL: 'http://127.0.0.2:8080/token' }).upstreams).toEqual([]);
  });
});
