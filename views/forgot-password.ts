import type { PageUi } from '../src/i18n/messages.ts';
import { csrfField } from './csrf-field.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/** "Forgot your password?": one field; the answer is the same page for every address. */
export function forgotPasswordPage(p: { ui: PageUi; uid: string; csrf: string; email?: string; error?: string }): SafeHtml {
  const t = p.ui.t.forgotPassword;
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="form-error"` : '';
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.title}</h1>
<p>${t.intro}</p>
${p.error ? html`<p class="error" role="alert" id="form-error">${p.error}</p>` : ''}
<form method="post" action="/interaction/${p.uid}/forgot-password" autocomplete="on">
${csrfField(p.csrf)}
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${p.email ?? ''}"${invalid} autofocus>
<button class="primary" type="submit">${t.submit}</button>
</form>
<p class="alternative"><a href="/interaction/${p.uid}">${t.backToSignIn}</a></p>`,
  });
}
