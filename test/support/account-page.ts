import { expect } from 'vitest';
import type { TestGatehouse } from './test-gatehouse.ts';
import { createUserAgent, type UserAgent } from './user-agent.ts';

/** The account page's CSRF token, as its forms carry it. */
export const accountCsrf = (page: string) => /action="\/account\/[^"]*">\s*<input type="hidden" name="csrf" value="([^"]+)"/.exec(page)?.[1];

/**
 * Follows a response's redirects (by hand, keeping cookies) until a page; answers the sign-in page
 * with the password when one is shown. Returns the last page and its URL.
 */
export async function followToPage(
  ua: UserAgent,
  res: Response,
  from: string,
  user?: { email: string; password: string },
  headers: Record<string, string> = {},
) {
  let url = new URL(from);
  for (let hops = 0; hops < 20; hops += 1) {
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url);
      res = await ua.request(url.href, { headers: { accept: 'text/html', ...headers } });
      continue;
    }
    const body = await res.text();
    if (user && body.includes('name="password"') && url.pathname.startsWith('/interaction/')) {
      const login = `${url.origin}${url.pathname.replace(/\/$/, '')}/login`;
      res = await ua.request(login, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
        body: new URLSearchParams(ua.formFields(login, user)).toString(),
      });
      user = undefined; // once: a second sign-in page means the first was refused
      continue;
    }
    return { res, body, url };
  }
  throw new Error('too many redirects');
}

/** Opens /account as a browser would: signs in through /auth when asked, lands on the page. */
export async function openAccountPage(
  gh: TestGatehouse,
  user: { email: string; password: string } | undefined,
  ua: UserAgent = createUserAgent(),
  headers: Record<string, string> = {},
) {
  const start = `${gh.issuer}/account`;
  const page = await followToPage(ua, await ua.request(start, { headers: { accept: 'text/html', ...headers } }), start, user, headers);
  expect(page.url.pathname, page.body.slice(0, 500)).toBe('/account');
  expect(page.res.status, page.body.slice(0, 500)).toBe(200);
  return { ua, ...page, csrf: accountCsrf(page.body)! };
}

/** Posts one of the account page's forms (with its CSRF token unless `csrf` is given). */
export function postAccountForm(gh: TestGatehouse, ua: UserAgent, path: string, csrf: string | undefined, fields: Record<string, string> = {}) {
  return ua.request(`${gh.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ ...(csrf === undefined ? {} : { csrf }), ...fields }).toString(),
  });
}
