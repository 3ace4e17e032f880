import type { Context } from 'koa';
import { isLocale, LOCALES, negotiateLocale } from '../src/i18n/locales.ts';
import { MESSAGES, type PageUi } from '../src/i18n/messages.ts';

export const LANG_COOKIE = 'lang';
const ONE_YEAR_MS = 365 * 86_400_000;

/**
 * The language of the page this request gets. The switcher's links add ?lang=ko; the choice is
 * kept in a cookie so that the form posts that follow speak it too (no JavaScript needed).
 * `path` is the GET address the switcher links to; by default the current one when it is a GET.
 */
export function pageUi(ctx: Context, options: { uiLocales?: string; path?: string } = {}): PageUi {
  const cached = ctx.state.pageUi as PageUi | undefined;
  if (cached && !options.path) return cached;
  const query = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
  // ctx.cookies needs the socket, which is gone when an error page answers a refused body.
  if (isLocale(query) && ctx.req.socket) {
    ctx.cookies.set(LANG_COOKIE, query, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: ONE_YEAR_MS, signed: false, overwrite: true });
  }
  const locale = negotiateLocale({
    chosen: isLocale(query) ? query : cookieValue(ctx.get('cookie'), LANG_COOKIE),
    uiLocales: options.uiLocales,
    acceptLanguage: ctx.get('accept-language'),
  });
  const current = ctx.method === 'GET' ? ctx.path : undefined;
  // Only a same-origin path: "//host" and "/\host" would be links to another site.
  const base = options.path ?? (current && /^\/(?![/\\])/.test(current) ? current : undefined);
  const params = new URLSearchParams(options.path ? '' : ctx.querystring);
  const ui: PageUi = {
    locale,
    t: MESSAGES[locale],
    languages: LOCALES.map((l) => {
      params.set('lang', l);
      return { locale: l, name: MESSAGES[l].languageName, href: base && `${base}?${params}`, isCurrent: l === locale };
    }),
  };
  ctx.state.pageUi = ui;
  return ui;
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4), without needing ctx.cookies. */
function cookieValue(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
