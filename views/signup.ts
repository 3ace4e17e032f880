import type { PageUi } from '../src/i18n/messages.ts';
import { csrfField } from './csrf-field.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

export type SignupField = 'name' | 'email' | 'password';

export function signupPage(p: {
  ui: PageUi;
  uid: string;
  /** The interaction's CSRF token. */
  csrf: string;
  clientName: string;
  values?: { name?: string; email?: string };
  error?: { field: SignupField; message: string };
}): SafeHtml {
  const t = p.ui.t.signup;
  // The field in error points at the message and takes the focus; the others keep their own hints.
  const state = (field: SignupField, hint?: string) => {
    const isInvalid = p.error?.field === field;
    const describedBy = [isInvalid ? 'form-error' : '', hint ?? ''].filter(Boolean).join(' ');
    return html`${isInvalid ? html` aria-invalid="true" autofocus` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}`;
  };
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.title}</h1>
<p>${t.continueTo(p.clientName)}</p>
${p.error ? html`<p class="error" role="alert" id="form-error">${p.error.message}</p>` : ''}
<form method="post" action="/interaction/${p.uid}/signup" autocomplete="on">
${csrfField(p.csrf)}
<label for="name">${t.name} <span class="muted">${t.optional}</span></label>
<input id="name" name="name" type="text" autocomplete="name" maxlength="200" value="${p.values?.name ?? ''}"${state('name')}${p.error ? '' : html` autofocus`}>
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${p.values?.email ?? ''}"${state('email')}>
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="1024"${state('password', 'password-hint')}>
<p class="hint" id="password-hint">${t.passwordHint}</p>
<button class="primary" type="submit">${t.submit}</button>
</form>
<p class="alternative">${t.haveAccount} <a href="/interaction/${p.uid}">${t.signIn}</a></p>`,
  });
}
