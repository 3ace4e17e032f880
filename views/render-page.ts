import type { Context } from 'koa';
import type { SafeHtml } from './html.ts';

// A strict policy for our own pages: no script at all, styles only from our origin.
// No form-action: browsers apply it to the redirect chain after a form post (consent → /auth →
// the client's redirect_uri), which would block the final hop to the client.
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

export function renderPage(ctx: Context, page: SafeHtml, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = page.value;
}
