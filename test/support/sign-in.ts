import { expect } from 'vitest';
import type { UserAgent } from './user-agent.ts';

/**
 * Walks /auth → login page → consent page → the client's redirect_uri, as a user would, and
 * returns the callback URL (with code and state). Pages are checked for the form they must show.
 */
export async function signIn(ua: UserAgent, authorizationUrl: URL | string, user: { email: string; password: string }, redirectUri: string): Promise<URL> {
  let res = await ua.get(String(authorizationUrl));
  for (let hops = 0; hops < 12; hops += 1) {
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, String(authorizationUrl));
      if (next.href.startsWith(redirectUri)) return next;
      res = await ua.get(next.href);
      continue;
    }
    const page = await res.text();
    expect(res.status, page).toBe(200);
    const url = new URL(res.url);
    if (page.includes('name="password"')) {
      res = await ua.postForm(`${url.origin}${url.pathname}/login`, user);
    } else if (page.includes('/confirm"')) {
      res = await ua.postForm(`${url.origin}${url.pathname}/confirm`, {});
    } else {
      throw new Error(`unexpected page at ${url.pathname}: ${page.slice(0, 300)}`);
    }
  }
  throw new Error('too many redirects');
}
