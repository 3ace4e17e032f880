import type { PageUi } from '../src/i18n/messages.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/** A page that says what happened (a link sent, a password changed), with an optional way on. */
export function noticePage(p: { ui: PageUi; title: string; message: string; detail?: string; link?: { href: string; text: string } }): SafeHtml {
  return layout({
    ui: p.ui,
    title: p.title,
    body: html`<h1>${p.title}</h1>
<p class="notice" role="status">${p.message}</p>
${p.detail ? html`<p class="muted">${p.detail}</p>` : ''}
${p.link ? html`<p><a href="${p.link.href}">${p.link.text}</a></p>` : ''}`,
  });
}
