import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens for the account page's forms. The page's own cookie is SameSite=Lax and Gatehouse's
 * session cookie SameSite=None, so SameSite alone would not keep another site's forms out (a Lax
 * cookie still rides a top-level cross-site GET, and a future change of the cookie would silently
 * open every form). Each form carries HMAC(key, the page session's Gatehouse session uid): only a
 * page we rendered for this sign-in has it. The key is the sign-in pages' form-token key with a
 * message of its own ("account-form:…" never equals theirs, "interaction-form:…").
 */
export function createAccountFormTokens(key: Buffer) {
  const tokenFor = (sessionUid: string) => createHmac('sha256', key).update(`account-form:${sessionUid}`).digest('base64url');
  return {
    tokenFor,
    /** What names one of the user's sessions in a form: never its storage id (a digest of its cookie). */
    handleFor: (ref: string) => createHmac('sha256', key).update(`account-session:${ref}`).digest('base64url').slice(0, 32),
    isValid(sessionUid: string, presented: string): boolean {
      const expected = Buffer.from(tokenFor(sessionUid));
      const actual = Buffer.from(presented);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}

export type AccountFormTokens = ReturnType<typeof createAccountFormTokens>;
