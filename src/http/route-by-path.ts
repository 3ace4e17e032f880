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
    let path = ctx.path;
    let route = exact.get(path);
    if (!route) {
      // oidc-provider's router matches a path in any case and with one trailing slash
      // (lib/helpers/router.js), so `/AUTH` or `/token/` reaches its endpoint: such a spelling of
      // one of our exact paths becomes that path, so the guards on it (rate limits, the refresh
      // grace window) and the engine see the same request.
      const canonical = canonicalPath(path);
      route = exact.get(canonical);
      if (route) ctx.path = path = canonical;
    }
    route ??= prefixes.find(([prefix]) => path.startsWith(prefix))?.[1];
    return route ? route(ctx, next) : next();
  };
}

/** ASCII only: the engine's case folding never turns another character into an ASCII one. */
function canonicalPath(path: string): string {
  if (!/^[\x21-\x7e]+$/.test(path)) return path;
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.toLowerCase();
}
