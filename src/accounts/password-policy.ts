import { readFileSync } from 'node:fs';

// NIST SP 800-63B §3.1.1.2: at least 8 characters, long passphrases allowed, no composition
// rules, and refuse passwords known to be common. The cap only keeps one sign-in from costing
// unbounded hashing.
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

export type PasswordProblem = 'too_short' | 'too_long' | 'too_common';

let common: Set<string> | undefined;
/** Loaded on first use (about 11,600 entries, ~100 KB): the CLI and the server pay for it only at sign-up. */
const commonPasswords = () =>
  (common ??= new Set(
    readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#')),
  ));

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): PasswordProblem | undefined {
  // Characters, not UTF-16 units: an 8-syllable Korean passphrase counts as 8 (NIST: code points).
  if ([...password].length < MIN_PASSWORD_LENGTH) return 'too_short';
  if (password.length > MAX_PASSWORD_LENGTH) return 'too_long';
  if (commonPasswords().has(password.toLowerCase())) return 'too_common';
  return undefined;
}
