import type { Middleware } from 'koa';
import { favicon, stylesheet } from '../../views/styles.ts';

const ASSETS: Record<string, { type: string; body: string }> = {
  '/assets/gatehouse.css': { type: 'text/css; charset=utf-8', body: stylesheet },
  // Linked from every page, so browsers do not ask for /favicon.ico (a 404 in their console).
  '/assets/favicon.svg': { type: 'image/svg+xml', body: favicon },
};

export function assets(): Middleware {
  return async (ctx, next) => {
    const asset = ASSETS[ctx.path];
    if (!asset || ctx.method !== 'GET') return next();
    ctx.state.route = 'assets';
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = asset.body;
  };
}
