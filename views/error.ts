import type { PageUi } from '../src/i18n/messages.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/** `detail` is technical text from the server (English), shown beside the translated message. */
export function errorPage(p: {
  ui: PageUi;
  title: string;
  message: string;
  detail?: string;
  code?: string;
  requestId?: string;
  /** Where to go from here, e.g. back to the sign-in page. */
  link?: { href: string; text: string };
}): SafeHtml {
  const t = p.ui.t.errors;
  return layout({
    ui: p.ui,
    title: p.title,
    body: html`<h1>${p.title}</h1>
<p role="alert">${p.message}</p>
${p.detail && p.detail !== p.message ? html`<p class="muted" lang="en">${p.detail}</p>` : ''}
${p.code ? html`<p class="muted">${t.codeLabel}: <code>${p.code}</code></p>` : ''}
${p.requestId ? html`<p class="muted">${t.referenceLabel}: <code>${p.requestId}</code></p>` : ''}
${p.link ? html`<p><a href="${p.link.href}">${p.link.text}</a></p>` : ''}`,
  });
}
