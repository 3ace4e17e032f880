import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens for the forms of an interaction (sign-in, sign-up, consent, cancel, upstream
 * buttons). The session cookie is SameSite=None (a cross-site POST to /auth must carry it), so
 * SameSite is no longer what keeps another site's forms out. Each form carries
 * HMAC(key, interaction uid): only our own page, shown to the browser holding that interaction,
 * has it; another site can neither read it nor compute it. The interaction cookie (SameSite=Lax,
 * on the interaction's path) still binds the form to that browser as well.
 */
export function createFormTokens(key: Buffer) {
  const tokenFor = (uid: string) => createHmac('sha256', key).update(`interaction-form:${uid}`).digest('base64url');
  return {
    tokenFor,
    /** Constant-time: a wrong guess learns nothing from the time it took. */
    isValid(uid: string, presented: string | undefined): boolean {
      if (!presented) return false;
      const expected = Buffer.from(tokenFor(uid));
      const actual = Buffer.from(presented);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}

export type FormTokens = ReturnType<typeof createFormTokens>;
