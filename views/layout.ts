import type { PageUi } from '../src/i18n/messages.ts';
import { html, type SafeHtml } from './html.ts';

/**
 * Every page's frame: the page's language on <html>, one <main>, the language switcher last in tab
 * order. `isWide`: a page of many sections (the account page) rather than one form.
 */
export function layout(options: { ui: PageUi; title: string; body: SafeHtml; isWide?: boolean }): SafeHtml {
  const { ui } = options;
  return html`<!doctype html>
<html lang="${ui.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · ${ui.t.siteName}</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
</head>
<body>
<main class="card${options.isWide ? ' wide' : ''}">
${options.body}
</main>
<nav class="languages" aria-label="${ui.t.languageSwitcher}">
<ul>
${ui.languages.map((l) =>
  l.isCurrent
    ? html`<li><span aria-current="true" lang="${l.locale}">${l.name}</span></li>`
    : l.href
      ? html`<li><a href="${l.href}" lang="${l.locale}" hreflang="${l.locale}">${l.name}</a></li>`
      : '',
)}
</ul>
</nav>
</body>
</html>`;
}
