import type { PageUi } from '../src/i18n/messages.ts';
import { csrfField } from './csrf-field.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

export type ScopeLine = { text: string; detail?: string };

export function consentPage(p: { ui: PageUi; uid: string; csrf: string; clientName: string; accountEmail: string; scopes: ScopeLine[] }): SafeHtml {
  const t = p.ui.t.consent;
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.heading(p.clientName)}</h1>
<p class="muted">${t.signedInAs(p.accountEmail)}</p>
<p>${t.asks(p.clientName)}</p>
<ul class="scopes">
${p.scopes.map((s) => html`<li>${s.text}${s.detail ? html` <span class="muted">(${s.detail})</span>` : ''}</li>`)}
</ul>
<p class="muted">${t.remembered}</p>
<form method="post" action="/interaction/${p.uid}/confirm">
${csrfField(p.csrf)}
<button class="primary" type="submit" autofocus>${t.allow}</button>
</form>
<form method="post" action="/interaction/${p.uid}/abort">
${csrfField(p.csrf)}
<button class="secondary" type="submit">${t.deny}</button>
</form>`,
  });
}
