import type { Middleware } from 'koa';

export type ReadinessCheck = { name: string; check: () => Promise<unknown> };
/** Reported in /readyz but not a condition of readiness: the instance serves correctly either way. */
export type ReadinessReport = { name: string; isOk: () => boolean; notOk: string };

export type HealthOptions = {
  timeoutMs?: number;
  /** True once the process is shutting down: /readyz answers 503 at once, so load balancers move on. */
  isDraining?: () => boolean;
  reports?: ReadinessReport[];
};

/** /healthz: the process is alive. /readyz: every dependency answers (load balancers route on this). */
export function healthEndpoints(checks: ReadinessCheck[], options: HealthOptions = {}): Middleware {
  const timeoutMs = options.timeoutMs ?? 2000;
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
    ctx.set('Cache-Control', 'no-store');
    if (options.isDraining?.()) {
      ctx.status = 503;
      ctx.body = { status: 'shutting_down' };
      return;
    }
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
          return [name, 'ok'] as const;
        } catch {
          return [name, 'unavailable'] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ok = results.every(([, s]) => s === 'ok');
    const reports = (options.reports ?? []).map(({ name, isOk, notOk }) => [name, isOk() ? 'ok' : notOk] as const);
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ready' : 'unavailable', checks: Object.fromEntries([...results, ...reports]) };
  };
}
