import { stringify } from 'node:querystring';
import type { Context } from 'koa';

const LIMIT_BYTES = 56 * 1024; // oidc-provider's own body cap (notes §2)

export class FormTooLarge extends Error {}

/**
 * Reads a form posted to an oidc-provider endpoint before the library does, for middleware that
 * must see parameters first (JWT introspection, the refresh grace window). The library then
 * reads the same form from `req.body` (it warns once per process that it did). Reading twice
 * returns the first result.
 */
export async function readProtocolForm(ctx: Context): Promise<URLSearchParams | undefined> {
  if (ctx.state.protocolForm) return ctx.state.protocolForm as URLSearchParams;
  if (ctx.method !== 'POST' || !ctx.is('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > LIMIT_BYTES) {
      ctx.set('Connection', 'close'); // unread bytes must not become the next request
      throw new FormTooLarge('request body too large');
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const form = new URLSearchParams(text);
  ctx.state.protocolForm = form;
  // Unchanged, the library gets the text as sent (no re-encoding on the token hot path).
  (ctx.req as { body?: string }).body = text;
  return form;
}

/** Replaces what oidc-provider will read as the request body. */
export function setProtocolForm(ctx: Context, form: URLSearchParams): void {
  ctx.state.protocolForm = form;
  const grouped: Record<string, string[]> = {};
  for (const [k, v] of form) (grouped[k] ??= []).push(v);
  (ctx.req as { body?: string }).body = stringify(grouped);
}

/** A parameter given exactly once, else undefined (the library rejects duplicates itself). */
export const single = (form: URLSearchParams, name: string) => (form.getAll(name).length === 1 ? form.get(name)! : undefined);

export function rejectTooLarge(ctx: Context): void {
  ctx.status = 400;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error: 'invalid_request', error_description: 'request body too large' };
}
