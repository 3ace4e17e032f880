import type { Middleware } from 'koa';

/**
 * Our path-specific middleware as one Koa layer. Each layer costs every request a promise, a
 * bound `next` and microtask hops; the token endpoint used to pass a dozen layers that had
 * nothing to say about it, and now costs one Map lookup. Keys are exact paths, or prefixes that
 * end in '/' (tried only when no exact path matches). A route still checks its own method (and
 * path, so that it also works alone) and calls next() for what it does not handle.
 */
export function routeByPath(routes: Record<string, Middleware>): Middleware {
  const exact = new Map<string, Middleware>();
  const prefixes: [string, Middleware][] = [];
  for (const [path, route] of Object.entries(routes)) {
    if (path.endsWith('/')) prefixes.push([path, route]);
    else exact.set(path, route);
  }
  return (ctx, next) => {
    const path = ctx.path;
    const route = exact.get(path) ?? prefixes.find(([prefix]) => path.startsWith(prefix))?.[1];
    return route ? route(ctx, next) : next();
  };
}
