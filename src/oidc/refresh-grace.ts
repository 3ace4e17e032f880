import { createHash, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { openJson, sealJson } from '../crypto/seal-json.ts';
import type { ShortLivedStore } from '../short-lived/short-lived-store.ts';
import { FormTooLarge, readProtocolForm, rejectTooLarge, single } from './protocol-form.ts';

type Saved = { credentials: string; body: Record<string, unknown> };

const PENDING = 'pending';
// How long a first request may take before a waiting duplicate gives up and goes through alone.
const PENDING_TTL_SECONDS = 30;
const WAIT_LIMIT_MS = 10_000;
const POLL_MS = 20;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Who is asking: the same client credentials must come with the replay. */
function credentialsOf(ctx: Context, form: URLSearchParams): string {
  const parts = [ctx.get('authorization'), form.get('client_id'), form.get('client_secret'), form.get('client_assertion')];
  return sha256(parts.map((p) => p ?? '').join('\n')).toString('base64url');
}

/**
 * A grace window for refresh-token rotation. oidc-provider treats any second use of a rotated
 * refresh token as theft and revokes the grant (notes §9), so a client that merely retried a
 * refresh (a lost response, two tabs) loses its session. Here the first redemption of a token
 * holds a short lock; duplicates wait for it and, within the client's grace window, get the very
 * response the first request got — one chain, no revocation. After the window, or with other
 * client credentials, the library's reuse detection applies unchanged.
 *
 * The saved response holds tokens, so it is sealed with a key derived from the presented refresh
 * token itself: the stored entry is useless to anyone who does not already hold that token.
 */
export function refreshGrace(options: {
  store: ShortLivedStore;
  graceSecondsFor: (ctx: KoaContextWithOIDC) => number;
  tokenPath: string;
}): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== options.tokenPath) return next();
    let form: URLSearchParams | undefined;
    try {
      form = await readProtocolForm(ctx);
    } catch (err) {
      if (err instanceof FormTooLarge) return rejectTooLarge(ctx);
      throw err;
    }
    const refreshToken = form && single(form, 'grant_type') === 'refresh_token' ? single(form, 'refresh_token') : undefined;
    if (!form || !refreshToken || refreshToken.length > 1024) return next();

    const id = sha256(refreshToken).toString('base64url');
    const key = `refresh-grace:${id}`;
    const sealKey = Buffer.from(hkdfSync('sha256', refreshToken, 'gatehouse', 'gatehouse:refresh-grace', 32));
    const credentials = credentialsOf(ctx, form);

    if (await options.store.setIfAbsent(key, PENDING, PENDING_TTL_SECONDS)) {
      try {
        await next();
      } finally {
        const body = ctx.body as Record<string, unknown> | undefined;
        const grace = ctx.status === 200 && body?.refresh_token ? options.graceSecondsFor(ctx as unknown as KoaContextWithOIDC) : 0;
        if (grace > 0) await options.store.set(key, sealJson({ credentials, body: body! } satisfies Saved, sealKey, id), grace);
        else await options.store.delete(key);
      }
      return;
    }

    // A duplicate: wait for the first request's outcome (bounded).
    const deadline = Date.now() + WAIT_LIMIT_MS;
    let entry = await options.store.get(key);
    while (entry === PENDING && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      entry = await options.store.get(key);
    }
    if (entry && entry !== PENDING) {
      const saved = openJson<Saved>(entry, sealKey, id);
      const same = Buffer.from(saved.credentials);
      if (same.length === credentials.length && timingSafeEqual(same, Buffer.from(credentials))) {
        ctx.status = 200;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = saved.body;
        return;
      }
    }
    // The first failed, the window closed, or someone else presents the token: normal rules.
    await next();
  };
}
