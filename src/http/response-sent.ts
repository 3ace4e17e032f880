import type { Context } from 'koa';

/**
 * Settles once this request's answer has been handed to the socket ('finish') or the connection
 * went away ('close'): work started after it cannot change how long the answer took.
 */
export function responseSent(ctx: Context): Promise<void> {
  const res = ctx.res;
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.once('finish', () => resolve());
    res.once('close', () => resolve());
  });
}
