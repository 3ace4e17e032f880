import type { PageUi } from '../src/i18n/messages.ts';
import { csrfField } from './csrf-field.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/**
 * EMAIL_VERIFICATION=required: the sign-in stops here until the address is verified. "Continue"
 * finishes the sign-in once it is; "Send a new link" mails another (throttled).
 */
export function verifyPendingPage(p: { ui: PageUi; uid: string; csrf: string; email: string; notice?: string; error?: string }): SafeHtml {
  const t = p.ui.t.verifyPending;
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.title}</h1>
<p>${t.required}</p>
<p>${t.sentTo(p.email)}</p>
${p.error ? html`<p class="error" role="alert">${p.error}</p>` : ''}
${p.notice ? html`<p class="notice" role="status">${p.notice}</p>` : ''}
<form method="post" action="/interaction/${p.uid}/verify-email/continue">
${csrfField(p.csrf)}
<button class="primary" type="submit">${t.continue}</button>
</form>
<form method="post" action="/interaction/${p.uid}/verify-email/resend">
${csrfField(p.csrf)}
<button class="secondary" type="submit">${t.resend}</button>
</form>
<p class="alternative"><a href="/interaction/${p.uid}">${t.otherAccount}</a></p>`,
  });
}
