import type { PageUi } from '../src/i18n/messages.ts';
import type { ScopeLine } from './consent.ts';
import { csrfField } from './csrf-field.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

export type AccountSection = 'profile' | 'email' | 'password' | 'identities' | 'sessions' | 'apps' | 'delete';

/** Everything the account page shows; prepared by src/account-page/account-page-model.ts. */
export type AccountPageModel = {
  ui: PageUi;
  csrf: string;
  account: { email: string | null; isEmailVerified: boolean; name: string | null; hasPassword: boolean };
  /** Signed in recently enough for the sensitive forms (password, email, delete). */
  isRecent: boolean;
  pendingEmail?: string;
  identities: { upstreamId: string; upstreamName: string; subject: string; email: string | null; lastSignInAt: Date; canUnlink: boolean }[];
  sessions: { handle: string; browser?: string; system?: string; lastUsedAt?: Date; signedInAt?: Date; clientNames: string[]; isCurrent: boolean }[];
  /** Each app with what it was allowed, in words (offline_access among them: "stays connected"). */
  apps: { clientId: string; name: string; scopes: ScopeLine[] }[];
  /** After a change (a redirect back here): what happened. */
  notice?: string;
  /** A refused form: its section's message, and what the user had typed (never a password). */
  error?: { section: AccountSection; message: string };
  values?: { name?: string; newEmail?: string };
};

const SECTIONS: AccountSection[] = ['profile', 'email', 'password', 'identities', 'sessions', 'apps', 'delete'];

/** Dates in the page's language; the server does not know the reader's time zone, so it says which it uses. */
const dateFormat = (locale: string) =>
  new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZone: 'UTC',
    timeZoneName: 'short',
  });

export function accountPage(m: AccountPageModel): SafeHtml {
  const t = m.ui.t.account;
  const when = (d: Date | undefined) => (d ? dateFormat(m.ui.locale).format(d) : '');
  const headings: Record<AccountSection, string> = {
    profile: t.profile.heading,
    email: t.email.heading,
    password: t.password.heading,
    identities: t.identities.heading,
    sessions: t.sessions.heading,
    apps: t.apps.heading,
    delete: t.delete.heading,
  };
  const errorFor = (section: AccountSection) =>
    m.error?.section === section ? html`<p class="error" role="alert" id="${section}-error">${m.error.message}</p>` : '';
  // The field in error points at its message and gets the focus (as on the sign-in pages).
  const described = (section: AccountSection, hint?: string) => {
    const ids = [m.error?.section === section ? `${section}-error` : '', hint ?? ''].filter(Boolean).join(' ');
    return html`${m.error?.section === section ? html` aria-invalid="true" autofocus` : ''}${ids ? html` aria-describedby="${ids}"` : ''}`;
  };
  const invalid = (section: AccountSection) => described(section);
  const reauth = (section: AccountSection) => html`<p>${t.recentNeeded}</p>
<p><a class="button primary" href="/account/sign-in?reauth=1&amp;section=${section}">${t.recentButton}</a></p>`;
  const section = (id: AccountSection, body: SafeHtml | string) =>
    html`<section class="account-section" id="${id}" aria-labelledby="${id}-heading">
<h2 id="${id}-heading">${headings[id]}</h2>
${errorFor(id)}
${body}
</section>`;

  const profile = html`<form method="post" action="/account/profile">
${csrfField(m.csrf)}
<label for="name">${t.profile.name}</label>
<input id="name" name="name" type="text" autocomplete="name" maxlength="200" value="${m.values?.name ?? m.account.name ?? ''}"${invalid('profile')}>
<button class="secondary inline" type="submit">${t.profile.save}</button>
</form>`;

  const email = html`${
    m.account.email
      ? html`<p><strong>${m.account.email}</strong>${m.account.isEmailVerified ? html`<span class="badge ok">${t.email.verified}</span>` : html`<span class="badge warn">${t.email.unverified}</span>`}</p>`
      : html`<p>${t.email.none}</p>`
  }
${
  m.account.email && !m.account.isEmailVerified
    ? html`<form method="post" action="/account/email/verify">${csrfField(m.csrf)}<button class="secondary inline" type="submit">${t.email.sendVerification}</button></form>`
    : ''
}
${m.pendingEmail ? html`<p class="notice">${t.email.pending(m.pendingEmail)}</p>` : ''}
${
  m.isRecent
    ? html`<form method="post" action="/account/email">
${csrfField(m.csrf)}
<label for="new-email">${t.email.newEmail}</label>
<input id="new-email" name="email" type="email" autocomplete="email" required maxlength="254" value="${m.values?.newEmail ?? ''}"${described('email', 'new-email-hint')}>
<p class="hint" id="new-email-hint">${t.email.changeHint}</p>
<button class="secondary inline" type="submit">${t.email.change}</button>
</form>`
    : reauth('email')
}`;

  const passwordHint = html`<p class="hint" id="password-hint">${m.ui.t.signup.passwordHint}</p>`;
  const password = m.account.hasPassword
    ? m.isRecent
      ? html`<form method="post" action="/account/password" autocomplete="on">
${csrfField(m.csrf)}
<input type="text" name="username" value="${m.account.email ?? ''}" autocomplete="username" hidden>
<label for="current-password">${t.password.current}</label>
<input id="current-password" name="current" type="password" autocomplete="current-password" required maxlength="1024"${invalid('password')}>
<label for="new-password">${t.password.next}</label>
<input id="new-password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="1024" aria-describedby="password-hint">
${passwordHint}
<p class="hint">${t.password.changeHint}</p>
<button class="secondary inline" type="submit">${t.password.change}</button>
</form>`
      : reauth('password')
    : html`<p>${t.password.none}</p>
${
  !m.account.email || !m.account.isEmailVerified
    ? html`<p class="muted">${t.password.needsVerified}</p>`
    : m.isRecent
      ? html`<form method="post" action="/account/password" autocomplete="on">
${csrfField(m.csrf)}
<input type="text" name="username" value="${m.account.email}" autocomplete="username" hidden>
<label for="new-password">${t.password.next}</label>
<input id="new-password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="1024"${described('password', 'password-hint')}>
${passwordHint}
<button class="secondary inline" type="submit">${t.password.set}</button>
</form>`
      : reauth('password')
}`;

  const identities = m.identities.length
    ? html`<ul class="items">
${m.identities.map(
  (i) => html`<li>
<h3>${i.upstreamName}</h3>
<p class="muted">${i.email ?? ''}${i.email ? ' · ' : ''}${t.identities.lastUsed(when(i.lastSignInAt))}</p>
${
  i.canUnlink
    ? html`<form method="post" action="/account/identities/unlink">${csrfField(m.csrf)}<input type="hidden" name="upstream" value="${i.upstreamId}"><input type="hidden" name="subject" value="${i.subject}"><button class="secondary inline" type="submit">${t.identities.unlink(i.upstreamName)}</button></form>`
    : html`<p class="muted">${t.identities.lastWayIn}</p>`
}
</li>`,
)}
</ul>`
    : html`<p>${t.identities.none}</p>`;

  const sessions = html`<ul class="items">
${m.sessions.map(
  (s) => html`<li>
<h3>${t.sessions.device(s.browser, s.system)}${s.isCurrent ? html`<span class="badge ok">${t.sessions.thisBrowser}</span>` : ''}</h3>
<p class="muted">${t.sessions.lastUsed(when(s.lastUsedAt))}${s.signedInAt ? html` · ${t.sessions.signedIn(when(s.signedInAt))}` : ''}</p>
${s.clientNames.length ? html`<p class="muted">${t.sessions.apps(s.clientNames.join(', '))}</p>` : ''}
<form method="post" action="/account/sessions/end">${csrfField(m.csrf)}<input type="hidden" name="session" value="${s.handle}"><button class="secondary inline" type="submit">${s.isCurrent ? t.sessions.signOutThis : t.sessions.signOut}</button></form>
</li>`,
)}
</ul>
<form method="post" action="/account/sessions/end-all">
${csrfField(m.csrf)}
<p class="hint">${t.sessions.signOutAllHint}</p>
<button class="secondary inline" type="submit">${t.sessions.signOutAll}</button>
</form>`;

  const apps = m.apps.length
    ? html`<ul class="items">
${m.apps.map(
  (a) => html`<li>
<h3>${a.name}</h3>
<ul class="scopes">
${a.scopes.map((s) => html`<li>${s.text}${s.detail ? html` <span class="muted">(${s.detail})</span>` : ''}</li>`)}
</ul>
<form method="post" action="/account/apps/revoke">${csrfField(m.csrf)}<input type="hidden" name="client" value="${a.clientId}"><button class="secondary inline" type="submit">${t.apps.revoke(a.name)}</button></form>
</li>`,
)}
</ul>
<p class="hint">${t.apps.revokeHint}</p>`
    : html`<p>${t.apps.none}</p>`;

  const remove = html`<p>${t.delete.warning}</p>
${
  m.isRecent
    ? html`<form method="post" action="/account/delete">
${csrfField(m.csrf)}
${
  m.account.hasPassword
    ? html`<input type="text" name="username" value="${m.account.email ?? ''}" autocomplete="username" hidden>
<label for="delete-password">${t.delete.password}</label>
<input id="delete-password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${invalid('delete')}>`
    : ''
}
<button class="danger inline" type="submit">${t.delete.submit}</button>
</form>`
    : reauth('delete')
}`;

  return layout({
    ui: m.ui,
    title: t.title,
    isWide: true,
    body: html`<h1>${t.title}</h1>
${m.account.email ? html`<p class="muted">${t.signedInAs(m.account.email)}</p>` : ''}
${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ''}
<nav class="contents" aria-label="${t.contents}"><ul>
${SECTIONS.map((id) => html`<li><a href="#${id}">${headings[id]}</a></li>`)}
</ul></nav>
${section('profile', profile)}
${section('email', email)}
${section('password', password)}
${section('identities', identities)}
${section('sessions', sessions)}
${section('apps', apps)}
${section('delete', remove)}`,
  });
}

/** The page the new address's link opens: a GET shows the button, only the POST uses the link. */
export function confirmEmailPage(p: { ui: PageUi; token: string; email: string }): SafeHtml {
  const t = p.ui.t.confirmEmail;
  return layout({
    ui: p.ui,
    title: t.title,
    body: html`<h1>${t.title}</h1>
<p>${t.confirm(p.email)}</p>
<form method="post" action="/account/confirm-email">
<input type="hidden" name="token" value="${p.token}">
<button class="primary" type="submit" autofocus>${t.submit}</button>
</form>`,
  });
}
