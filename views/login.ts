import { html, type SafeHtml } from '../src/http/html.ts';
import { layout } from './layout.ts';

export function loginPage(p: { uid: string; clientName: string; email?: string; error?: string }): SafeHtml {
  return layout({
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
<p>to continue to <strong>${p.clientName}</strong></p>
${p.error ? html`<p class="error" role="alert">${p.error}</p>` : ''}
<form method="post" action="/interaction/${p.uid}/login" autocomplete="on">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${p.email ?? ''}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button class="primary" type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${p.uid}/abort">
<button class="secondary" type="submit">Cancel</button>
</form>`,
  });
}
