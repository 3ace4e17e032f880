import * as oauth from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { authorizationUrl } from './support/page-flow.ts';
import { useTestGatehouse } from './support/test-gatehouse.ts';
import { createUserAgent } from './support/user-agent.ts';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('pages in English and Korean', () => {
  const gh = useTestGatehouse();
  let config: oauth.Configuration;

  beforeAll(async () => {
    const { client, clientSecret } = await gh.services.clients.registerClient({ name: '한글 앱', redirectUris: [REDIRECT_URI], scope: 'openid email' });
    config = await oauth.discovery(new URL(gh.issuer), client.client_id, undefined, oauth.ClientSecretBasic(clientSecret!), {
      execute: [oauth.allowInsecureRequests],
    });
  });

  /** GETs the login page of a new flow with the given headers and extra authorization parameters. */
  async function login(headers: Record<string, string> = {}, params: Record<string, string> = {}) {
    const url = await authorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid email', ...params });
    const started = await fetch(url, { redirect: 'manual', headers });
    const cookie = started.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const interaction = new URL(started.headers.get('location')!, gh.issuer).href;
    const res = await fetch(interaction, { headers: { ...headers, cookie } });
    return { res, body: await res.text(), interaction, cookie, koreanAgent: () => agentAfter(url, started, { lang: 'ko' }) };
  }

  /** A user agent holding the cookies a response set, and these (as set for every path). */
  function agentAfter(url: URL, res: Response, more: Record<string, string>) {
    const ua = createUserAgent();
    ua.jar.store(url, res);
    for (const [name, value] of Object.entries(more)) ua.jar.set({ host: url.hostname, path: '/', name, value });
    return ua;
  }

  it('speaks Korean to a browser that prefers it, with <html lang="ko">', async () => {
    const { body } = await login({ 'accept-language': 'ko-KR,ko;q=0.9,en;q=0.8' });
    expect(body).toContain('<html lang="ko">');
    expect(body).toContain('<h1>로그인</h1>');
    expect(body).toContain('<label for="password">비밀번호</label>');
    expect(body).toContain('<strong>한글 앱</strong>');
  });

  it('speaks English by default and to languages it does not know', async () => {
    for (const headers of [{}, { 'accept-language': 'fr-FR,de;q=0.5' }] as Record<string, string>[]) {
      const { body } = await login(headers);
      expect(body).toContain('<html lang="en">');
      expect(body).toContain('<h1>Sign in</h1>');
    }
  });

  it("follows the application's ui_locales over the browser's Accept-Language", async () => {
    const { body } = await login({ 'accept-language': 'en' }, { ui_locales: 'ko' });
    expect(body).toContain('<html lang="ko">');
  });

  it('offers a switcher link to the other language, and the choice sticks in an HttpOnly cookie for the form posts', async () => {
    const { body, interaction, cookie, koreanAgent } = await login({ 'accept-language': 'en' });
    const path = new URL(interaction).pathname;
    expect(body).toContain(`<a href="${path}?lang=ko" lang="ko" hreflang="ko">한국어</a>`);
    expect(body).toContain('<span aria-current="true" lang="en">English</span>');

    const switched = await fetch(`${interaction}?lang=ko`, { headers: { 'accept-language': 'en', cookie } });
    expect(await switched.text()).toContain('<html lang="ko">');
    const langCookie = switched.headers.getSetCookie().find((c) => c.startsWith('lang='))!;
    expect(langCookie).toMatch(/^lang=ko;/);
    expect(langCookie).toMatch(/;\s*httponly/i);
    expect(langCookie).toMatch(/;\s*samesite=lax/i);

    const ua = koreanAgent();
    const csrf = /name="csrf" value="([^"]+)"/.exec(body)![1]!; // the form's hidden field, as the browser posts it
    const failed = await ua.request(`${interaction}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' },
      body: new URLSearchParams({ email: 'nobody@example.test', password: 'wrong-password', csrf }).toString(),
    });
    expect(failed.status).toBe(401);
    expect(await failed.text()).toContain('이메일 또는 비밀번호가 올바르지 않습니다.');
  });

  it('translates the scope descriptions on the consent page', async () => {
    await gh.services.accounts.registerAccount({ email: 'yuna@example.test', password: 'yuna-passphrase-789' });
    const { interaction, body: loginPage, koreanAgent } = await login({ 'accept-language': 'ko' });
    const ua = koreanAgent();
    const csrf = /name="csrf" value="([^"]+)"/.exec(loginPage)![1]!;
    let res = await ua.postForm(`${interaction}/login`, { email: 'yuna@example.test', password: 'yuna-passphrase-789', csrf });
    for (let hops = 0; hops < 5 && res.status === 303; hops += 1) res = await ua.get(new URL(res.headers.get('location')!, gh.issuer).href);
    const body = await res.text();
    expect(body).toContain('이메일 주소 보기');
    expect(body).toContain('<button class="primary" type="submit" autofocus>허용</button>');
  });
});
