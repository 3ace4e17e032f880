import { createFormTokens } from './form-tokens.ts';

/**
 * A user agent that keeps cookies per host and path, as a browser does, for flows that cross
 * origins (Gatehouse on 127.0.0.1, an upstream on 127.0.0.2). Redirects are followed by hand.
 */
export function createCookieAgent() {
  const formTokens = createFormTokens();
  type Cookie = { host: string; path: string; name: string; value: string };
  const jar = new Map<string, Cookie>();

  const store = (url: URL, res: Response) => {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const attr = (n: string) =>
        attrs
          .map((a) => a.trim())
          .find((a) => a.toLowerCase().startsWith(`${n}=`))
          ?.slice(n.length + 1);
      const path = attr('path') ?? '/';
      const expires = attr('expires');
      const key = `${url.hostname}|${path}|${name}`;
      if (!value || (expires && new Date(expires).getTime() < Date.now())) jar.delete(key);
      else jar.set(key, { host: url.hostname, path, name, value });
    }
  };
  const cookieHeader = (url: URL) =>
    [...jar.values()]
      .filter((c) => c.host === url.hostname && (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');

  const request = async (href: string, init: RequestInit = {}) => {
    const url = new URL(href);
    const headers = new Headers(init.headers);
    const cookie = cookieHeader(url);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    store(url, res);
    await formTokens.learn(res);
    return res;
  };

  return {
    jar,
    request,
    get: (url: string) => request(url, { headers: { accept: 'text/html' } }),
    postForm: (url: string, fields: Record<string, string>) =>
      request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams(formTokens.fill(url, fields)).toString(),
      }),
    /** Follows redirects from a response until a page, or a URL `stop` says to stop at. */
    async follow(res: Response, from: string, stop: (url: URL) => boolean = () => false): Promise<{ res: Response; url: URL }> {
      let url = new URL(from);
      for (let hops = 0; hops < 20; hops += 1) {
        const location = res.headers.get('location');
        if (!(res.status >= 300 && res.status < 400 && location)) return { res, url };
        url = new URL(location, url);
        if (stop(url)) return { res, url };
        res = await this.get(url.href);
      }
      throw new Error('too many redirects');
    },
  };
}

export type CookieAgent = ReturnType<typeof createCookieAgent>;
