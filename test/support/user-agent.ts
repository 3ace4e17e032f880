import { createFormTokens } from './form-tokens.ts';

type Cookie = { host: string; path: string; name: string; value: string };

/**
 * Cookies per host and path, as a browser keeps them (RFC 6265 §5.3, without Domain), so flows
 * that cross origins (Gatehouse on 127.0.0.1, an upstream on 127.0.0.2) send each its own. Tests
 * that only ask which cookie the agent holds look it up by name.
 */
function createCookieJar() {
  const cookies = new Map<string, Cookie>();
  const keyOf = (c: Cookie) => `${c.host}|${c.path}|${c.name}`;
  const named = (name: string) => [...cookies.values()].filter((c) => c.name === name);
  // §5.1.4: a cookie's path matches itself and the paths below it.
  const isOnPath = (c: Cookie, pathname: string) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`);
  const set = (cookie: Cookie) => {
    cookies.delete(keyOf(cookie));
    if (cookie.value) cookies.set(keyOf(cookie), cookie);
  };

  return {
    /** Whether a cookie of this name is held, for any host and path. */
    has: (name: string) => named(name).length > 0,
    /** The value of the cookie of this name stored last. */
    get: (name: string) => named(name).at(-1)?.value,
    /** The cookie of this name stored last, whole (to put back later with `set`). */
    cookie: (name: string) => named(name).at(-1),
    /** Stores a cookie as a Set-Cookie header would; an empty value removes it. */
    set,
    /** What the agent sends in the Cookie header of a request to `url`. */
    header: (url: URL) =>
      [...cookies.values()]
        .filter((c) => c.host === url.hostname && isOnPath(c, url.pathname))
        .map((c) => `${c.name}=${c.value}`)
        .join('; '),
    /** Takes in a response's Set-Cookie headers. */
    store(url: URL, res: Response) {
      for (const header of res.headers.getSetCookie()) {
        const [pair, ...attrs] = header.split(';');
        const eq = pair!.indexOf('=');
        const attr = (n: string) =>
          attrs
            .map((a) => a.trim())
            .find((a) => a.toLowerCase().startsWith(`${n}=`))
            ?.slice(n.length + 1);
        const expires = attr('expires');
        const isExpired = expires !== undefined && new Date(expires).getTime() < Date.now();
        const value = isExpired ? '' : pair!.slice(eq + 1).trim();
        set({ host: url.hostname, path: attr('path') ?? '/', name: pair!.slice(0, eq).trim(), value });
      }
    },
  };
}

/**
 * A cookie-keeping HTTP user agent for driving the pages without a browser: redirects are followed
 * by hand, so tests can stop at the client's redirect_uri, and form posts carry the CSRF token of
 * the page they came from. (Page rendering itself is tested in a real browser elsewhere.)
 */
export function createUserAgent() {
  const jar = createCookieJar();
  const formTokens = createFormTokens();

  const request = async (href: string, init: RequestInit = {}) => {
    const url = new URL(href);
    const headers = new Headers(init.headers);
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.store(url, res);
    await formTokens.learn(res);
    return res;
  };
  const get = (url: string) => request(url, { headers: { accept: 'text/html' } });

  return {
    jar,
    request,
    get,
    /** The fields a browser would post from the page's form: these plus its CSRF token. */
    formFields: formTokens.fill,
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
        res = await get(url.href);
      }
      throw new Error('too many redirects');
    },
  };
}

export type UserAgent = ReturnType<typeof createUserAgent>;
