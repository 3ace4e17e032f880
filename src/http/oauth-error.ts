import type { Context } from 'koa';

/**
 * The one place our own endpoints write an error in RFC 6749 §5.2's shape
 * (`{ error, error_description }`, never cached). oidc-provider writes its own; the verifier
 * library, which ships alone, has its own copy of this shape.
 */
export function sendOAuthError(ctx: Context, status: number, error: string, description: string, headers: Record<string, string> = {}): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  ctx.body = { error, error_description: description };
}
