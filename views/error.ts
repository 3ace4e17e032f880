import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';

export function errorPage(p: { title: string; message: string; code?: string; requestId?: string }): SafeHtml {
  return layout({
    title: p.title,
    body: html`<h1>${p.title}</h1>
<p role="alert">${p.message}</p>
${p.code ? html`<p class="muted">Error: <code>${p.code}</code></p>` : ''}
${p.requestId ? html`<p class="muted">Reference: <code>${p.requestId}</code></p>` : ''}`,
  });
}
