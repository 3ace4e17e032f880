import { isIPv6 } from 'node:net';
import type { Middleware } from 'koa';

// RFC 9110 §7.2 / RFC 3986 §3.2.2: uri-host [ ":" port ]. A name is letters, digits, '.', '-' and
// '_' (docker service names) up to 253 characters (RFC 1035); an IP literal is bracketed IPv6.
const HOST = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|[A-Za-z0-9][A-Za-z0-9._-]{0,252})(?::(\d{1,5}))?$/;
const ABSOLUTE_FORM = /^https?:\/\//i;

/** A Host header value a well-behaved client could have sent. */
export function isWellFormedHost(value: string): boolean {
  const match = HOST.exec(value);
  if (!match) return false;
  if (match[1] !== undefined && !isIPv6(match[1])) return false;
  return match[2] === undefined || Number(match[2]) <= 65_535;
}

/** How many Host lines the request carried (Node keeps only the first in req.headers). */
function hostLines(rawHeaders: string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'host') count += 1;
  return count;
}

/**
 * Every URL Gatehouse writes comes from ISSUER, never from the request. oidc-provider builds
 * discovery, the resume URL and the logout form from `ctx.href` (notes §2), which Koa takes from
 * the Host header, or from X-Forwarded-Host/-Proto when the proxy is trusted: a client that sends
 * `Host: evil.example` would get evil.example endpoints back. So this pins the request's host and
 * protocol to the issuer's for everything downstream (a foreign but well-formed Host is still
 * served: load balancers and probes use internal names), and refuses a malformed Host, several
 * Host lines or a missing one on HTTP/1.1 with 400 (RFC 9112 §3.2), before anything parses it.
 *
 * Cookies stay `Secure` when the issuer is https, and also when a trusted proxy says the
 * connection was (as before).
 */
export function issuerHost(issuer: string): Middleware {
  const pinned = new URL(issuer);
  const protocol = pinned.protocol.slice(0, -1);
  const refuse = (ctx: Parameters<Middleware>[0], why: string) => {
    ctx.status = 400;
    ctx.type = 'text/plain';
    ctx.body = `Bad Request: ${why}\n`;
    ctx.set('Connection', 'close');
  };

  return async (ctx, next) => {
    const { req } = ctx;
    const lines = hostLines(req.rawHeaders);
    const host = req.headers.host;
    if (lines > 1) return refuse(ctx, 'more than one Host header');
    if (host === undefined ? req.httpVersion !== '1.0' : !isWellFormedHost(host)) return refuse(ctx, 'malformed Host header');
    // RFC 9112 §3.2.2: an absolute-form target overrides Host; Koa would build ctx.href from it.
    if (ABSOLUTE_FORM.test(req.url ?? '')) {
      const target = URL.parse(req.url!);
      if (!target || !isWellFormedHost(target.host)) return refuse(ctx, 'malformed request target');
      ctx.url = target.pathname + target.search;
      ctx.originalUrl = ctx.request.originalUrl = ctx.url;
    }
    const secure = protocol === 'https' || ctx.request.secure;
    Object.defineProperties(ctx.request, {
      host: { value: pinned.host },
      protocol: { value: protocol },
      secure: { value: secure },
    });
    return next();
  };
}
