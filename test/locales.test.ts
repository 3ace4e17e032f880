import { describe, expect, it } from 'vitest';
import { fromAcceptLanguage, fromUiLocales, negotiateLocale } from '../src/i18n/locales.ts';

describe('page language negotiation', () => {
  it('picks the supported language with the highest q-value from Accept-Language', () => {
    expect(fromAcceptLanguage('ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7')).toBe('ko');
    expect(fromAcceptLanguage('en-GB,en;q=0.9,ko;q=0.8')).toBe('en');
    expect(fromAcceptLanguage('fr-FR, ko;q=0.5, en;q=0.4')).toBe('ko');
    expect(fromAcceptLanguage('en;q=0.2, KO;q=0.9')).toBe('ko');
  });

  it('ignores unsupported languages, q=0 and nonsense', () => {
    expect(fromAcceptLanguage('fr, de;q=0.9')).toBeUndefined();
    expect(fromAcceptLanguage('ko;q=0, en;q=0.1')).toBe('en');
    expect(fromAcceptLanguage(';;;,q=,ko;q=abc')).toBeUndefined();
    expect(fromAcceptLanguage(undefined)).toBeUndefined();
    expect(fromAcceptLanguage(`${'x,'.repeat(10_000)}ko`)).toBeUndefined(); // only the first 64 ranges count
  });

  it('reads OpenID Connect ui_locales in order of preference', () => {
    expect(fromUiLocales('fr-CA ko-KR en')).toBe('ko');
    expect(fromUiLocales('de')).toBeUndefined();
  });

  it("prefers the user's own choice, then ui_locales, then Accept-Language, then English", () => {
    expect(negotiateLocale({ chosen: 'en', uiLocales: 'ko', acceptLanguage: 'ko' })).toBe('en');
    expect(negotiateLocale({ chosen: 'xx', uiLocales: 'ko', acceptLanguage: 'en' })).toBe('ko');
    expect(negotiateLocale({ acceptLanguage: 'ko-KR' })).toBe('ko');
    expect(negotiateLocale({})).toBe('en');
  });
});
