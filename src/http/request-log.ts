import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { type Metrics, routeName } from './metrics.ts';

/**
 * One JSON line per request and the request metrics. Logs the path only: query strings and
 * bodies carry codes, tokens and secrets, so they never reach the log.
 */
export function requestLog(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { route: routeName(ctx), method: ctx.method, status: String(ctx.status) };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, seconds);
      logger.info(
        { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, route: labels.route, ms: Math.round(seconds * 1000) },
        'request',
      );
    }
  };
}
