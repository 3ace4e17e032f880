import { createFormTokens } from './form-tokens.ts';

/**
 * A cookie-keeping HTTP user agent for driving the sign-in pages without a browser: follows
 * redirects by hand so tests can stop at the client's redirect_uri. (Page rendering itself is
 * tested in a real browser elsewhere.)
 */
export function createUserAgent() {
  const jar = new Map<string, string>();
  const formTokens = createFormTokens();

  const store = (res: Response) => {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && new Date(a.split('=')[1]!).getTime() < Date.now());
      if (!value || expired) jar.delete(name);
      else jar.set(name, value);
    }
  };

  const request = async (url: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    store(res);
    await formTokens.learn(res);
    return res;
  };

  return {
    jar,
    request,
    /** The fields a browser would post from the page's form: these plus its CSRF token. */
    formFields: formTokens.fill,
    get: (url: string) => request(url, { headers: { accept: 'text/html' } }),
    postForm: (url: string, fields: Record<string, string>) =>
      request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams(formTokens.fill(url, fields)).toString(),
      }),
  };
}

export type UserAgent = ReturnType<typeof createUserAgent>;
