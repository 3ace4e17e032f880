import type { Context } from 'koa';
import { openJson, sealJson } from '../crypto/seal-json.ts';

// EMAIL_VERIFICATION=required: whose sign-in is waiting for a verified address, between the
// "check your inbox" page and its Continue button. Sealed (AES-256-GCM, the interaction's uid as
// associated data) so the browser can neither read nor forge it, on the interaction's path (where
// oidc-provider's own cookie binds the flow to this browser; notes §12), for as long as an
// interaction lives. It proves only that this browser got the password (or upstream) right for
// that account: Continue still signs in only once the account's address is verified.
const NAME = 'gatehouse.pending_verification';
const SECONDS = 3600; // ttl.Interaction

const path = (uid: string) => `/interaction/${uid}`;
const aad = (uid: string) => `pending-verification:${uid}`;

export function createPendingVerification(sealingKey: Buffer) {
  const options = (ctx: Context, uid: string) => ({
    path: path(uid),
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: ctx.secure,
    signed: false,
    overwrite: true,
  });
  return {
    set(ctx: Context, uid: string, accountId: string): void {
      const value = sealJson({ accountId, exp: Date.now() / 1000 + SECONDS }, sealingKey, aad(uid));
      ctx.cookies.set(NAME, value, { ...options(ctx, uid), maxAge: SECONDS * 1000 });
    },
    /** The account waiting in this interaction, if any (undefined when absent, forged, foreign or expired). */
    get(ctx: Context, uid: string): string | undefined {
      const raw = ctx.cookies.get(NAME, { signed: false });
      if (!raw) return undefined;
      try {
        const value = openJson<{ accountId: string; exp: number }>(raw, sealingKey, aad(uid));
        return value.exp > Date.now() / 1000 ? value.accountId : undefined;
      } catch {
        return undefined;
      }
    },
    clear(ctx: Context, uid: string): void {
      ctx.cookies.set(NAME, null, options(ctx, uid));
    },
  };
}

export type PendingVerification = ReturnType<typeof createPendingVerification>;
