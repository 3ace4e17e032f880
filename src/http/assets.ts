import type { Middleware } from 'koa';
import { stylesheet } from '../../views/styles.ts';

export function assets(): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/assets/gatehouse.css' || ctx.method !== 'GET') return next();
    ctx.state.route = 'assets';
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  };
}
