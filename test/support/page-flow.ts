import type * as oauth from 'openid-client';
import { startCodeFlow } from './code-flow.ts';
import type { UserAgent } from './user-agent.ts';

export type PageKind = 'login' | 'signup' | 'consent';
export type Page = { kind: PageKind; url: URL; status: number; body: string };
/** How a test answers a page: a form post (path relative to the interaction), or stop there. */
export type Answer = { post: string; fields?: Record<string, string> } | 'stop';

const kindOf = (body: string): PageKind | undefined =>
  body.includes('/signup" autocomplete') ? 'signup' : body.includes('/login" autocomplete') ? 'login' : body.includes('/confirm"') ? 'consent' : undefined;

/**
 * Drives the pages from an authorization URL as a browser would, letting the test answer each one;
 * returns the pages seen and the client's callback (undefined if the test stopped on a page).
 */
export async function walkPages(
  ua: UserAgent,
  start: URL | string,
  redirectUri: string,
  answer: (page: Page) => Answer,
): Promise<{ pages: Page[]; callback?: URL }> {
  const pages: Page[] = [];
  let res = await ua.get(String(start));
  for (let hops = 0; hops < 16; hops += 1) {
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, res.url || String(start));
      if (next.href.startsWith(redirectUri)) return { pages, callback: next };
      res = await ua.get(next.href);
      continue;
    }
    const body = await res.text();
    const url = new URL(res.url);
    const kind = kindOf(body);
    if (!kind) throw new Error(`unexpected page ${res.status} at ${url.pathname}: ${body.slice(0, 300)}`);
    const page = { kind, url, status: res.status, body };
    pages.push(page);
    const reply = answer(page);
    if (reply === 'stop') return { pages };
    const interaction = url.pathname.split('/').slice(0, 3).join('/');
    res = await ua.postForm(`${url.origin}${interaction}/${reply.post}`, reply.fields ?? {});
  }
  throw new Error('too many pages');
}

/** An authorization URL with PKCE, for a flow that is not meant to reach the code exchange. */
export async function authorizationUrl(config: oauth.Configuration, params: Record<string, string>): Promise<URL> {
  return (await startCodeFlow(config, { state: 'st', ...params })).url;
}
