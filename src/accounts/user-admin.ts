import type { Actor, AuditLog, StoredAuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import type { Locale } from '../i18n/locales.ts';
import type { OneTimeTokenStore } from '../one-time-tokens/one-time-token-store.ts';
import type { SignOutEverywhere } from '../revocation/sign-out-everywhere.ts';
import { hasControlCharacters } from '../validation/control-characters.ts';
import type { AccountRepository, AccountWithHash } from './account-repository.ts';
import { type Account, type AccountService, isPlausibleEmail, normalizeEmail } from './account-service.ts';
import type { PasswordReset } from './password-reset.ts';
import { createUserImport } from './user-import.ts';
import type { ConsentRecord, GrantSummary, UpstreamIdentity, UserRecordRepository } from './user-record-repository.ts';

/** Which user an operator means: the account id, or an address. */
export type UserRef = { id?: string; email?: string };
/** An account as operators see it: never its password hash, only whether it has one. */
export type UserView = Account & { hasPassword: boolean };
export type UserChange = { name?: string | null; email?: string; emailVerified?: boolean };

const MAX_PAGE = 200;

const view = ({ passwordHash, ...account }: AccountWithHash): UserView => ({ ...account, hasPassword: passwordHash !== null });
const via = (actor: Actor) => ({ via: actor.via, ...(actor.clientId ? { by_client: actor.clientId } : {}) });

/** Pages are keyed by (created_at in microseconds, id) of the last row: an opaque base64url cursor. */
const encodeCursor = (last: { createdMicros: string; id: string }) => Buffer.from(`${last.createdMicros}.${last.id}`).toString('base64url');
function decodeCursor(cursor: string): { createdMicros: string; id: string } {
  const m = /^(\d{1,20})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new AppError('invalid_cursor', 'cursor is not one this server gave out');
  return { createdMicros: m[1]!, id: m[2]! };
}

/**
 * The operators' users commands (CLI `gatehouse users …` and the admin API call the same
 * functions): list, show, update, disable/enable, delete, send-reset, import and export. Every
 * change is audited with who made it (`via`). Consequences follow the user's own flows:
 * disabling or deleting signs the user out everywhere (sessions, grants, refresh tokens, and a
 * cut-off that revokes every access token issued so far); a verified address goes through
 * claimVerifiedEmail, so accounts that had it unverified lose it.
 */
export function createUserAdmin(deps: {
  accounts: AccountService;
  repository: AccountRepository;
  records: UserRecordRepository;
  tokens: OneTimeTokenStore;
  passwordReset: Pick<PasswordReset, 'sendByOperator'>;
  signOutEverywhere: Pick<SignOutEverywhere, 'account'>;
  audit: Pick<AuditLog, 'record' | 'list'>;
}) {
  const find = async (ref: UserRef): Promise<AccountWithHash> => {
    if (ref.id) {
      const account = await deps.repository.findById(ref.id);
      if (!account) throw new AppError('not_found', 'no such user', 404);
      return account;
    }
    const email = normalizeEmail(ref.email ?? '');
    if (!isPlausibleEmail(email)) throw new AppError('invalid_email', 'give a user id or a valid email address');
    const holder = await deps.repository.findHolder(email);
    if (holder) return holder;
    // No holder: an account that has the address unverified (an upstream that did not vouch).
    const others = await deps.repository.findAllByEmail(email);
    if (others.length === 1) return others[0]!;
    if (others.length > 1) throw new AppError('ambiguous', `${others.length} accounts have ${email} unverified; name one by id`, 409);
    throw new AppError('not_found', `no user ${email}`, 404);
  };

  const change = async (account: AccountWithHash, c: UserChange): Promise<string[]> => {
    // Everything checked before anything is written.
    const name = c.name === undefined ? undefined : c.name?.trim() || null;
    if (name && (name.length > 200 || hasControlCharacters(name))) throw new AppError('invalid_name', 'name is not valid');
    const email = c.email === undefined ? account.email : normalizeEmail(c.email);
    const isNewEmail = c.email !== undefined && email !== account.email;
    if (isNewEmail && (!email || !isPlausibleEmail(email))) throw new AppError('invalid_email', 'email address is not valid');
    if (c.emailVerified === true && !email) throw new AppError('invalid_request', 'the user has no email address to mark verified');

    const fields: string[] = [];
    if (isNewEmail) {
      // Unverified first (the address may not have another holder), then proven if the operator says so.
      if (!(await deps.repository.update(account.id, { email: email!, emailVerified: false }))) {
        throw new AppError('conflict', 'another account holds this address', 409);
      }
      // Links mailed to the old address are for it alone.
      await Promise.all([deps.tokens.invalidate('verify_email', account.id), deps.tokens.invalidate('reset_password', account.id)]);
      fields.push('email');
    }
    if (c.emailVerified === true && (isNewEmail || !account.emailVerified)) {
      if (!(await deps.accounts.claimVerifiedEmail({ email: email!, accountId: account.id }))) {
        throw new AppError('conflict', 'another account holds this address verified', 409);
      }
      fields.push('email_verified');
    } else if (c.emailVerified === false && account.emailVerified && !isNewEmail) {
      await deps.repository.update(account.id, { emailVerified: false });
      fields.push('email_verified');
    }
    if (name !== undefined) {
      await deps.repository.update(account.id, { name });
      fields.push('name');
    }
    return fields;
  };

  return {
    async list(q: { search?: string; limit?: number; cursor?: string } = {}): Promise<{ users: UserView[]; nextCursor?: string }> {
      const limit = Math.min(Math.max(1, q.limit ?? 50), MAX_PAGE);
      if (q.search !== undefined && (q.search.length > 254 || hasControlCharacters(q.search))) throw new AppError('invalid_request', 'search is not valid');
      const page = await deps.repository.list({ search: q.search || undefined, limit, after: q.cursor ? decodeCursor(q.cursor) : undefined });
      return { users: page.accounts.map(view), ...(page.accounts.length === limit && page.last ? { nextCursor: encodeCursor(page.last) } : {}) };
    },

    async show(ref: UserRef): Promise<UserView & { identities: UpstreamIdentity[] }> {
      const account = await find(ref);
      return { ...view(account), identities: await deps.records.identities(account.id) };
    },

    async update(ref: UserRef, c: UserChange, actor: Actor): Promise<UserView> {
      if (c.name === undefined && c.email === undefined && c.emailVerified === undefined) throw new AppError('invalid_request', 'nothing to change');
      const account = await find(ref);
      const fields = await change(account, c);
      if (fields.length) await deps.audit.record({ type: 'user.updated', accountId: account.id, ip: actor.ip, details: { fields, ...via(actor) } });
      return view((await deps.repository.findById(account.id))!);
    },

    /** No sign-in from now on, and everything issued so far is revoked; the account is kept. */
    async disable(ref: UserRef, actor: Actor): Promise<UserView> {
      const account = await find(ref);
      if (account.disabledAt) return view(account);
      const disabled = (await deps.repository.setDisabled(account.id, new Date()))!;
      await Promise.all([deps.tokens.invalidate('verify_email', account.id), deps.tokens.invalidate('reset_password', account.id)]);
      await deps.signOutEverywhere.account(account.id, 'user_disabled');
      await deps.audit.record({ type: 'user.disabled', accountId: account.id, ip: actor.ip, details: via(actor) });
      return view(disabled);
    },

    async enable(ref: UserRef, actor: Actor): Promise<UserView> {
      const account = await find(ref);
      if (!account.disabledAt) return view(account);
      const enabled = (await deps.repository.setDisabled(account.id, null))!;
      await deps.audit.record({ type: 'user.enabled', accountId: account.id, ip: actor.ip, details: via(actor) });
      return view(enabled);
    },

    /**
     * Everything of the user's goes: sessions, grants, refresh tokens (sign-out everywhere, whose
     * cut-off also revokes their access tokens), then the account row, and with it (ON DELETE
     * CASCADE) their upstream identities, consents, grant index and mailed links. The audit trail
     * keeps its events under the account id, a random UUID that leads to no one once the row is
     * gone; `user.deleted` holds no address or name.
     */
    async delete(ref: UserRef, actor: Actor): Promise<{ id: string; deleted: true }> {
      const account = await find(ref);
      await deps.signOutEverywhere.account(account.id, 'user_deleted');
      await deps.repository.delete(account.id);
      await deps.audit.record({ type: 'user.deleted', accountId: account.id, ip: actor.ip, details: via(actor) });
      return { id: account.id, deleted: true };
    },

    /** Mails the user a reset link (also a first password for an account without one). */
    async sendReset(ref: UserRef, locale: Locale, actor: Actor): Promise<{ id: string; sentTo: string }> {
      const account = await find(ref);
      if (account.disabledAt) throw new AppError('disabled', 'the user is disabled; enable them first', 409);
      if (!account.email || !(await deps.passwordReset.sendByOperator(account, locale, actor))) {
        throw new AppError('no_email', 'the user has no email address to send to', 409);
      }
      return { id: account.id, sentTo: account.email };
    },

    /** Everything held about the user, for a subject-access request: never a hash, token or secret. */
    async export(ref: UserRef): Promise<{
      exportedAt: string;
      account: UserView;
      identities: UpstreamIdentity[];
      consents: ConsentRecord[];
      grants: GrantSummary[];
      auditEvents: StoredAuditEvent[];
    }> {
      const account = await find(ref);
      const [identities, consents, grants, auditEvents] = await Promise.all([
        deps.records.identities(account.id),
        deps.records.consents(account.id),
        deps.records.grants(account.id),
        deps.audit.list({ accountId: account.id, limit: 10_000 }),
      ]);
      return { exportedAt: new Date().toISOString(), account: view(account), identities, consents, grants, auditEvents };
    },

    import: createUserImport({ repository: deps.repository, audit: deps.audit }),
  };
}

export type UserAdmin = ReturnType<typeof createUserAdmin>;
