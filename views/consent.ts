import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';

export type ScopeLine = { text: string; detail?: string };

export function consentPage(p: { uid: string; clientName: string; accountEmail: string; scopes: ScopeLine[] }): SafeHtml {
  return layout({
    title: 'Allow access',
    body: html`<h1>Allow <strong>${p.clientName}</strong> access?</h1>
<p class="muted">Signed in as ${p.accountEmail}</p>
<p>${p.clientName} is asking to:</p>
<ul class="scopes">
${p.scopes.map((s) => html`<li>${s.text}${s.detail ? html` <span class="muted">(${s.detail})</span>` : ''}</li>`)}
</ul>
<form method="post" action="/interaction/${p.uid}/confirm">
<button class="primary" type="submit" autofocus>Allow</button>
</form>
<form method="post" action="/interaction/${p.uid}/abort">
<button class="secondary" type="submit">Deny</button>
</form>`,
  });
}
