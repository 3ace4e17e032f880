import type { PageUi } from '../src/i18n/messages.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

/**
 * RFC 8628 §3.3: the user enters the code their device shows. Our own form (oidc-provider's has an
 * inline onfocus handler, which the pages' CSP forbids), posting to the library's endpoint with
 * its xsrf value. 8 characters of BCDFGHJKLMNPQRSTVWXZ; dashes, spaces and case do not matter.
 */
export function deviceCodePage(p: { ui: PageUi; action: string; xsrf: string; userCode?: string; error?: string; message?: string }): SafeHtml {
  const t = p.ui.t.device;
  const invalid = p.error ? html` aria-invalid="true" aria-describedby="form-error"` : html` aria-describedby="code-hint"`;
  return layout({
    ui: p.ui,
    title: t.enterTitle,
    body: html`<h1>${t.enterTitle}</h1>
${p.error ? html`<p class="error" role="alert" id="form-error">${p.error}</p>` : html`<p>${p.message ?? t.enterIntro}</p>`}
<form method="post" action="${p.action}" autocomplete="off">
<input type="hidden" name="xsrf" value="${p.xsrf}">
<label for="user_code">${t.codeLabel}</label>
<input id="user_code" name="user_code" type="text" class="code" required maxlength="32" autocapitalize="characters" spellcheck="false" autocomplete="one-time-code" value="${p.userCode ?? ''}"${invalid} autofocus>
<p class="hint" id="code-hint">${t.codeHint}</p>
<button class="primary" type="submit">${t.continue}</button>
</form>`,
  });
}

/** RFC 8628 §5.4: the user checks the app and the code before anything is granted (remote phishing). */
export function deviceConfirmPage(p: { ui: PageUi; action: string; xsrf: string; userCode: string; clientName: string }): SafeHtml {
  const t = p.ui.t.device;
  return layout({
    ui: p.ui,
    title: t.confirmTitle,
    body: html`<h1>${t.confirmHeading(p.clientName)}</h1>
<p>${t.confirmCode}</p>
<p class="user-code"><code>${p.userCode}</code></p>
<p class="muted">${t.confirmWarning}</p>
<form method="post" action="${p.action}">
<input type="hidden" name="xsrf" value="${p.xsrf}">
<input type="hidden" name="user_code" value="${p.userCode}">
<input type="hidden" name="confirm" value="yes">
<button class="primary" type="submit" autofocus>${t.confirm}</button>
</form>
<form method="post" action="${p.action}">
<input type="hidden" name="xsrf" value="${p.xsrf}">
<input type="hidden" name="user_code" value="${p.userCode}">
<input type="hidden" name="abort" value="yes">
<button class="secondary" type="submit">${t.abort}</button>
</form>`,
  });
}

export function deviceDonePage(p: { ui: PageUi; clientName?: string }): SafeHtml {
  const t = p.ui.t.device;
  return layout({
    ui: p.ui,
    title: t.doneTitle,
    body: html`<h1>${t.doneHeading}</h1>
<p>${p.clientName ? t.doneClient(p.clientName) : t.doneAny} ${t.doneClose}</p>`,
  });
}
