import { expect } from 'vitest';
import type { UserAgent } from './user-agent.ts';

/** The xsrf value of the device pages' forms (oidc-provider's, carried by ours). */
export const xsrfOf = (page: string) => /name="xsrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

export type DevicePageFlow = {
  /** The last page and its status. */
  status: number;
  body: string;
};

/**
 * As a user at a browser: the code entry page, the code, the confirmation page, then Gatehouse's
 * sign-in and consent pages, back to the device flow's done page. `headers` go on every request
 * (an Accept-Language, a forwarded address).
 */
export async function approveDevice(
  ua: UserAgent,
  issuer: string,
  userCode: string,
  user: { email: string; password: string },
  options: { headers?: Record<string, string>; answer?: 'confirm' | 'abort' } = {},
): Promise<DevicePageFlow> {
  const headers = { accept: 'text/html', ...options.headers };
  const post = (url: string, fields: Record<string, string>) =>
    ua.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(ua.formFields(url, fields)).toString(),
    }); // with the page's CSRF token, as a browser posts it
  const get = (url: string) => ua.request(url, { headers });

  const entry = await get(`${issuer}/device`);
  const entryPage = await entry.text();
  expect(entry.status, entryPage).toBe(200);
  const confirm = await post(`${issuer}/device`, { xsrf: xsrfOf(entryPage), user_code: userCode });
  const confirmPage = await confirm.text();
  expect(confirm.status, confirmPage).toBe(200);
  expect(confirmPage).toContain('name="confirm"');
  const answer: Record<string, string> = options.answer === 'abort' ? { abort: 'yes' } : { confirm: 'yes' };
  let res = await post(`${issuer}/device`, { xsrf: xsrfOf(confirmPage), user_code: userCode, ...answer });
  for (let hops = 0; hops < 12; hops += 1) {
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      res = await get(new URL(location, issuer).href);
      continue;
    }
    const body = await res.text();
    const url = new URL(res.url || issuer);
    if (body.includes('name="password"')) res = await post(`${url.origin}${url.pathname}/login`, user);
    else if (body.includes('/confirm"')) res = await post(`${url.origin}${url.pathname}/confirm`, {});
    else return { status: res.status, body };
  }
  throw new Error('too many redirects');
}
