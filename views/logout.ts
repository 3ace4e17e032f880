import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';

/** `form` is oidc-provider's hidden logout form (with its xsrf token); the buttons submit it. */
export function logoutPage(p: { form: SafeHtml; host: string }): SafeHtml {
  return layout({
    title: 'Sign out',
    body: html`<h1>Sign out of ${p.host}?</h1>
${p.form}
<button class="primary" type="submit" form="op.logoutForm" value="yes" name="logout" autofocus>Yes, sign me out</button>
<button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`,
  });
}

export function signedOutPage(p: { clientName?: string }): SafeHtml {
  return layout({
    title: 'Signed out',
    body: html`<h1>You are signed out</h1>
<p>${p.clientName ? html`You have signed out of ${p.clientName}.` : 'You have signed out.'} You can close this page.</p>`,
  });
}
