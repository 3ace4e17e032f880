import type { PageUi } from '../src/i18n/messages.ts';
import { csrfField } from './csrf-field.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/** An upstream identity provider (Google, Kakao, Naver, …) offered as a button. */
export type UpstreamOption = { id: string; name: string };

export function loginPage(p: {
  ui: PageUi;
  uid: string;
  /** The interaction's CSRF token, in every form. */
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
  /** The sign-up page, when sign-up is enabled. */
  signupHref?: string;
  /** "Forgot your password?" */
  forgotPasswordHref?: string;
  upstreams?: UpstreamOption[];
}): SafeHtml {
  const t = p.ui.t.login;
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="form-error"` : '';
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.title}</h1>
<p>${t.continueTo(p.clientName)}</p>
${p.error ? html`<p class="error" role="alert" id="form-error">${p.error}</p>` : ''}
<form method="post" action="/interaction/${p.uid}/login" autocomplete="on">
${csrfField(p.csrf)}
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${p.email ?? ''}"${invalid}${p.email ? '' : html` autofocus`}>
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${invalid}${p.email ? html` autofocus` : ''}>
<button class="primary" type="submit">${t.submit}</button>
</form>
${p.forgotPasswordHref ? html`<p class="alternative"><a href="${p.forgotPasswordHref}">${t.forgotPassword}</a></p>` : ''}
${
  p.upstreams?.length
    ? html`<section class="upstreams" aria-labelledby="upstream-heading">
<h2 id="upstream-heading">${t.upstreamHeading}</h2>
${p.upstreams.map((u) => html`<form method="post" action="/interaction/${p.uid}/upstream/${u.id}">${csrfField(p.csrf)}<button class="secondary" type="submit">${t.upstreamButton(u.name)}</button></form>`)}
</section>`
    : ''
}
${p.signupHref ? html`<p class="alternative">${t.newHere} <a href="${p.signupHref}">${t.createAccount}</a></p>` : ''}
<form method="post" action="/interaction/${p.uid}/abort">
${csrfField(p.csrf)}
<button class="secondary" type="submit">${t.cancel}</button>
</form>`,
  });
}
