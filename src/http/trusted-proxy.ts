import type { IncomingHttpHeaders } from 'node:http';
import type { Middleware } from 'koa';
import proxyAddr from 'proxy-addr';
import type { TrustProxy } from '../config/load-config.ts';

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'] as const;

/**
 * The client's address, protocol and host as the trusted proxies saw them, before anything reads
 * ctx.ip, ctx.secure or ctx.host (the Provider runs with `proxy = true` whenever TRUST_PROXY is set).
 *
 * X-Forwarded-For is read from the right: the peer, then each address a trusted proxy appended,
 * up to the first one no trusted proxy wrote: that is the client (everything to its left is the
 * client's own writing). A peer that is not trusted gets no say at all: its X-Forwarded-* are
 * dropped. X-Forwarded-Proto and -Host are kept at the value of the outermost trusted hop, the
 * one that faced the client (the only value when proxies overwrite them, as they should).
 */
export function trustedProxy(trust: TrustProxy): Middleware {
  const isTrusted = 'hops' in trust ? (_address: string, i: number) => i < trust.hops : proxyAddr.compile([...trust.addresses]);
  return (ctx, next) => {
    const headers = ctx.req.headers;
    // [peer, X-Forwarded-For right to left …], cut after the first untrusted address.
    const chain = proxyAddr.all(ctx.req, isTrusted);
    const client = chain[chain.length - 1] ?? '';
    ctx.request.ip = client;
    if (!isTrusted(chain[0] ?? '', 0)) {
      for (const name of FORWARDED) delete headers[name];
    } else {
      // The trusted proxies this request passed: all but the client, and at least the peer.
      const hops = Math.max(1, chain.length - 1);
      headers['x-forwarded-for'] = client;
      keepHop(headers, 'x-forwarded-proto', hops);
      keepHop(headers, 'x-forwarded-host', hops);
    }
    return next();
  };
}

/** A header each hop may have appended to: the entry of the `hops`-th proxy from us (or the first). */
function keepHop(headers: IncomingHttpHeaders, name: string, hops: number): void {
  const value = headers[name];
  if (typeof value !== 'string') return;
  const entries = value.split(',').map((entry) => entry.trim());
  headers[name] = entries[Math.max(0, entries.length - hops)];
}
