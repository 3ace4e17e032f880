import type { Actor, AuditLog } from '../audit/audit-log.ts';
import { AppError, ServerBusy } from '../errors/app-error.ts';
import { hasControlCharacters } from '../validation/control-characters.ts';
import type { Account, AccountRepository } from './account-repository.ts';
import { createPasswordHasher, type PasswordHasher } from './password-hashing.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordProblem } from './password-policy.ts';

export type { Account };

const MAX_EMAIL_LENGTH = 254; // RFC 5321 path limit

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** A name an upstream sent: cut to size; dropped if it carries control characters. */
function cleanName(name: string | undefined): string | null {
  const trimmed = name?.trim().slice(0, 200) || null;
  return trimmed && !hasControlCharacters(trimmed) ? trimmed : null;
}

/** A syntactically plausible address; real verification is by mail, not by regex. */
export function isPlausibleEmail(email: string): boolean {
  return email.length <= MAX_EMAIL_LENGTH && !hasControlCharacters(email) && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}

/** The password policy (password-policy.ts) as the AppErrors the pages and the CLI show. */
export function assertAcceptablePassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem === 'too_short') throw new AppError('weak_password', `password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (problem === 'too_long') throw new AppError('invalid_password', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (problem === 'too_common') throw new AppError('common_password', 'password is one of the most common passwords');
}

export function createAccountService(deps: { repository: AccountRepository; audit?: Pick<AuditLog, 'record'>; passwords?: PasswordHasher }) {
  // Bounded argon2 (ServerBusy past its queue): the one hasher of every password check and hash.
  const passwords = deps.passwords ?? createPasswordHasher();
  // Unknown emails are checked against this hash so that both answers cost the same time
  // (no account enumeration by timing). A refused first try (ServerBusy) is not kept.
  let dummyHash: Promise<string> | undefined;
  const dummy = () =>
    (dummyHash ??= passwords.hash('gatehouse-dummy-password-for-timing').catch((err: unknown) => {
      dummyHash = undefined;
      throw err;
    }));

  const strip = ({ passwordHash: _h, ...account }: Account & { passwordHash: string | null }): Account => account;

  return {
    /** `actor`: an operator made the account (CLI, admin API) and the audit trail says who; self sign-up has none. */
    async registerAccount(input: { email: string; password: string; name?: string }, actor?: Actor): Promise<Account & { email: string }> {
      const email = normalizeEmail(input.email);
      if (!isPlausibleEmail(email)) throw new AppError('invalid_email', 'email address is not valid');
      assertAcceptablePassword(input.password);
      const name = input.name?.trim() || null;
      if (name && (name.length > 200 || hasControlCharacters(name))) throw new AppError('invalid_name', 'name is not valid');
      // Unverified: nobody checked that the address is the user's. It is how the account signs in,
      // so it holds the address (one password account per address), but an upstream proving the
      // address is never linked to it (claimVerifiedEmail).
      const created = await deps.repository.insert({ email, emailVerified: false, name, passwordHash: await passwords.hash(input.password) });
      if (!created) throw new AppError('conflict', 'an account with this email already exists', 409);
      if (actor) {
        await deps.audit?.record({
          type: 'user.created',
          accountId: created.id,
          ip: actor.ip,
          details: { via: actor.via, ...(actor.clientId ? { by_client: actor.clientId } : {}) },
        });
      }
      return { ...strip(created), email };
    },

    /**
     * Expected outcome as a value: the account, or undefined for any mismatch (same time either
     * way). A disabled account is returned like any other when the password is right (its
     * `disabledAt` is set): the caller refuses it, and may say why to whoever knows the password.
     */
    async authenticate(emailInput: string, password: string): Promise<Account | undefined> {
      const email = normalizeEmail(emailInput);
      const usable = isPlausibleEmail(email) && password.length > 0 && password.length <= MAX_PASSWORD_LENGTH;
      const account = usable ? await deps.repository.findHolder(email) : undefined;
      // No account, or one made by an upstream sign-in (no password): the same argon2 work, no.
      if (!account?.passwordHash) {
        await passwords.verify(await dummy(), usable ? password : 'x');
        return undefined;
      }
      if (!(await passwords.verify(account.passwordHash, password))) return undefined;
      if (passwords.needsRehash(account.passwordHash)) {
        // Best effort: a busy server upgrades the hash at a later sign-in instead of refusing this one.
        const upgraded = await passwords.hash(password).catch((err: unknown) => {
          if (err instanceof ServerBusy) return undefined;
          throw err;
        });
        if (upgraded) await deps.repository.updatePasswordHash(account.id, upgraded);
      }
      return strip(account);
    },

    /**
     * An account for someone an upstream signed in without vouching for their address (Naver, or
     * OIDC without `email_verified: true`): no password, the address stored unverified. It holds
     * no address, so it never blocks a sign-up, is never found by email, and loses the address
     * to whoever proves it.
     */
    async createUnverifiedAccount(input: { email: string; name?: string }): Promise<Account> {
      const email = normalizeEmail(input.email);
      if (!isPlausibleEmail(email)) throw new AppError('invalid_email', 'email address is not valid');
      const created = await deps.repository.insert({ email, emailVerified: false, name: cleanName(input.name), passwordHash: null });
      return strip(created!); // holds no address, so nothing can conflict
    },

    /**
     * Someone proved they control `email`: an upstream said `email_verified: true` (later also a
     * link mailed to the address). The address goes to the prover:
     * - an account already holding it verified is theirs (returned as it is; isNew false);
     * - otherwise every account that has it unverified loses it (its email becomes null: an
     *   unproven claim never outlives a proof), and the prover's account gets it verified: the
     *   account named by `accountId` (the prover's own, e.g. the one the mailed link was for), or
     *   else a new account without a password.
     * Undefined when `accountId` is given but another account holds the address verified.
     */
    async claimVerifiedEmail(input: { email: string; name?: string; accountId?: string }): Promise<{ account: Account; isNew: boolean } | undefined> {
      const email = normalizeEmail(input.email);
      if (!isPlausibleEmail(email)) throw new AppError('invalid_email', 'email address is not valid');
      if (input.accountId && !(await deps.repository.findById(input.accountId))) return undefined;
      // Three tries: a concurrent claim or sign-up may take the address between our steps.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const holder = await deps.repository.findHolder(email);
        if (holder?.emailVerified) {
          if (input.accountId && holder.id !== input.accountId) return undefined;
          return { account: strip(holder), isNew: false };
        }
        const released = await deps.repository.releaseUnverified(email, input.accountId);
        const account = input.accountId
          ? await deps.repository.markVerified(input.accountId, email)
          : await deps.repository.insert({ email, emailVerified: true, name: cleanName(input.name), passwordHash: null });
        if (!account) continue;
        for (const id of released) {
          await deps.audit?.record({ type: 'account.email_released', accountId: id, details: { to_account: account.id } });
        }
        return { account: strip(account), isNew: !input.accountId };
      }
      throw new AppError('conflict', 'the address is being claimed concurrently', 409);
    },

    /** The account holding this address (verified, or signing in with it by password), if any. */
    async findByEmail(email: string): Promise<Account | undefined> {
      const normalized = normalizeEmail(email);
      if (!isPlausibleEmail(normalized)) return undefined;
      const account = await deps.repository.findHolder(normalized);
      return account && strip(account);
    },

    async findById(id: string): Promise<Account | undefined> {
      const account = await deps.repository.findById(id);
      return account && strip(account);
    },

    /**
     * Whether this is the account's password (the account page asks for it again before a change
     * or a deletion): the bounded hasher (ServerBusy past it), false for an account without one.
     */
    async verifyPassword(id: string, password: string): Promise<boolean> {
      const account = await deps.repository.findById(id);
      if (!account?.passwordHash || !password || password.length > MAX_PASSWORD_LENGTH) return false;
      return passwords.verify(account.passwordHash, password);
    },

    /** Whether the account has a password (an upstream-made one may not: its first is set by a reset link). */
    async hasPassword(id: string): Promise<boolean> {
      return Boolean((await deps.repository.findById(id))?.passwordHash);
    },

    /**
     * A new password's argon2id hash, after the password policy (AppError) and through the bounded
     * hasher (ServerBusy): a caller can check and hash before it spends anything single-use.
     */
    async hashNewPassword(password: string): Promise<string> {
      assertAcceptablePassword(password);
      return passwords.hash(password);
    },

    /** Stores a hash made by hashNewPassword. */
    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      await deps.repository.updatePasswordHash(id, passwordHash);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
