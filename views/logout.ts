import type { PageUi } from '../src/i18n/messages.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/** `form` is oidc-provider's hidden logout form (with its xsrf token); the buttons submit it. */
export function logoutPage(p: { ui: PageUi; form: SafeHtml; host: string }): SafeHtml {
  const t = p.ui.t.logout;
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.heading(p.host)}</h1>
${p.form}
<button class="primary" type="submit" form="op.logoutForm" value="yes" name="logout" autofocus>${t.yes}</button>
<button class="secondary" type="submit" form="op.logoutForm">${t.no}</button>`,
  });
}

export function signedOutPage(p: { ui: PageUi; clientName?: string }): SafeHtml {
  const t = p.ui.t.signedOut;
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.heading}</h1>
<p>${p.clientName ? t.fromClient(p.clientName) : t.fromAll} ${t.closePage}</p>`,
  });
}
