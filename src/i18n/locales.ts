// The languages the pages speak. English is the fallback for anything else.
export const LOCALES = ['en', 'ko'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

export const isLocale = (value: unknown): value is Locale => (LOCALES as readonly unknown[]).includes(value);

/** The supported locale for a BCP 47 tag by its primary subtag ("ko-KR" → ko), if any. */
const localeOf = (tag: string): Locale | undefined => {
  const primary = tag.trim().split('-')[0]!.toLowerCase();
  return isLocale(primary) ? primary : undefined;
};

/**
 * Accept-Language (RFC 9110 §12.5.4): the supported locale with the highest q-value, the earlier
 * one on a tie. Only the first 64 ranges are read: the header is the client's to inflate.
 */
export function fromAcceptLanguage(header: string | undefined): Locale | undefined {
  if (!header) return undefined;
  let best: { locale: Locale; q: number } | undefined;
  for (const range of header.split(',').slice(0, 64)) {
    const [tag = '', ...params] = range.split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const locale = localeOf(tag);
    if (locale && Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { locale, q };
  }
  return best?.locale;
}

/** OpenID Connect's ui_locales: space-separated tags, most preferred first (OIDC Core §3.1.2.1). */
export function fromUiLocales(value: string | undefined): Locale | undefined {
  for (const tag of (value ?? '').split(' ').slice(0, 16)) {
    const locale = tag && localeOf(tag);
    if (locale) return locale;
  }
  return undefined;
}

/**
 * The page language: the user's own choice (the switcher's ?lang or its cookie) first, then what
 * the application asked for (ui_locales), then the browser's Accept-Language.
 */
export function negotiateLocale(input: { chosen?: string; uiLocales?: string; acceptLanguage?: string }): Locale {
  if (isLocale(input.chosen)) return input.chosen;
  return fromUiLocales(input.uiLocales) ?? fromAcceptLanguage(input.acceptLanguage) ?? DEFAULT_LOCALE;
}
