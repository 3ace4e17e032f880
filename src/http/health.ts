import type { Middleware } from 'koa';

export type ReadinessCheck = { name: string; check: () => Promise<unknown> };

/** /healthz: the process is alive. /readyz: every dependency answers (load balancers route on this). */
export function healthEndpoints(checks: ReadinessCheck[], timeoutMs = 2000): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/healthz') {
      ctx.state.route = 'healthz';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path !== '/readyz') return next();
    ctx.state.route = 'readyz';
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
          ]);
          return [name, 'ok'] as const;
        } catch {
          return [name, 'unavailable'] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ok = results.every(([, s]) => s === 'ok');
    ctx.status = ok ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: ok ? 'ready' : 'unavailable', checks: Object.fromEntries(results) };
  };
}
