import { stringify } from 'node:querystring';
import type { Context, Middleware } from 'koa';
import { AppError } from '../errors/app-error.ts';
import { sendOAuthError } from '../http/oauth-error.ts';
import { readBodyText } from '../http/read-form.ts';

const LIMIT_BYTES = 56 * 1024; // oidc-provider's own body cap (notes §2)

/**
 * The one step that reads a form posted to an oidc-provider endpoint (/token, introspection,
 * revocation, PAR, POST /auth) before the library does, as the library's own token action reads
 * it once in `parseBody` for the steps after it. Our steps on those paths (rate limits, the
 * refresh grace window, JWT introspection and revocation) take what it read with
 * `protocolFormOf`; the library reads the same form from `req.body` (it warns once per process
 * that it did). Too large is the library's own answer: 400 invalid_request, and the connection
 * closes (unread bytes must not become the next request).
 */
export function withProtocolForm(route: Middleware): Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.is('application/x-www-form-urlencoded')) {
      let text: string;
      try {
        text = await readBodyText(ctx, LIMIT_BYTES);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'payload_too_large') throw err;
        return sendOAuthError(ctx, 400, 'invalid_request', 'request body too large');
      }
      ctx.state.protocolForm = new URLSearchParams(text);
      // Unchanged, the library gets the text as sent (no re-encoding on the token hot path).
      (ctx.req as { body?: string }).body = text;
    }
    return route(ctx, next);
  };
}

/** The form `withProtocolForm` read; undefined for anything but a form POST. */
export const protocolFormOf = (ctx: Context): URLSearchParams | undefined => ctx.state.protocolForm as URLSearchParams | undefined;

/** Replaces what oidc-provider will read as the request body. */
export function setProtocolForm(ctx: Context, form: URLSearchParams): void {
  ctx.state.protocolForm = form;
  const grouped: Record<string, string[]> = {};
  for (const [k, v] of form) (grouped[k] ??= []).push(v);
  (ctx.req as { body?: string }).body = stringify(grouped);
}

/** A parameter given exactly once, else undefined (the library rejects duplicates itself). */
export const single = (form: URLSearchParams, name: string) => (form.getAll(name).length === 1 ? form.get(name)! : undefined);
