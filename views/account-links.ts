import type { PageUi } from '../src/i18n/messages.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

// The pages the mailed links open. A GET shows a button and only the POST uses the link: mail
// scanners and link previews follow links, and must not use them up. The token travels in a
// hidden field (never in the form's URL, which could end up in logs).

export function verifyEmailPage(p: { ui: PageUi; token: string; email: string }): SafeHtml {
  const t = p.ui.t.verifyEmail;
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.title}</h1>
<p>${t.confirm(p.email)}</p>
<form method="post" action="/account/verify-email">
<input type="hidden" name="token" value="${p.token}">
<button class="primary" type="submit" autofocus>${t.submit}</button>
</form>`,
  });
}

export function resetPasswordPage(p: { ui: PageUi; token: string; email: string; error?: string }): SafeHtml {
  const t = p.ui.t.resetPassword;
  const state = p.error ? html` aria-invalid="true" aria-describedby="form-error password-hint"` : html` aria-describedby="password-hint"`;
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.title}</h1>
<p>${t.forAccount(p.email)}</p>
${p.error ? html`<p class="error" role="alert" id="form-error">${p.error}</p>` : ''}
<form method="post" action="/account/reset-password" autocomplete="on">
<input type="hidden" name="token" value="${p.token}">
<input type="text" name="username" value="${p.email}" autocomplete="username" hidden>
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="1024"${state} autofocus>
<p class="hint" id="password-hint">${p.ui.t.signup.passwordHint}</p>
<button class="primary" type="submit">${t.submit}</button>
</form>`,
  });
}
