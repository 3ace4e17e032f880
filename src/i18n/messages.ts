import type { Locale } from './locales.ts';
import { en, type Messages } from './messages-en.ts';
import { ko } from './messages-ko.ts';

export type { Locale, Messages };

export const MESSAGES: Readonly<Record<Locale, Messages>> = { en, ko };

/** What every page needs to speak its language: the strings and the language switcher. */
export type PageUi = {
  locale: Locale;
  t: Messages;
  /** One entry per language; href is where the switcher's link goes (absent: no link, e.g. after a POST). */
  languages: { locale: Locale; name: string; href?: string; isCurrent: boolean }[];
};
