import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Test-only relaxations; never read from the environment (see app.ts GatehouseOptions). */
export type OutboundFetchOptions = {
  /** Connect to loopback, private and link-local addresses (tests run every party on 127.0.0.1). */
  allowPrivateAddresses?: boolean;
  /** Plain http:// URLs (tests); Gatehouse itself only ever asks for https://. */
  allowHttp?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a test's self-signed one. */
  ca?: string;
};

const MAX_BODY_BYTES = 256 * 1024;
const MAX_TIME_MS = 5_000;

// Addresses no client of ours has any business making us reach (RFC 6890 special-use, plus
// private, loopback, link-local and multicast ranges): the cloud metadata service at
// 169.254.169.254, the database next door, the admin API on localhost.
const SPECIAL_USE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  SPECIAL_USE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  SPECIAL_USE.addSubnet(net, prefix, 'ipv6');

/** True for an address Gatehouse must not connect to on a client's behalf. */
export function isSpecialUseAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return SPECIAL_USE.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: refuse
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address); // IPv4-mapped (RFC 4291 §2.5.5.2)
  if (mapped) return SPECIAL_USE.check(mapped[1]!, 'ipv4');
  if (/^::ffff:/i.test(address)) return true;
  return SPECIAL_USE.check(address, 'ipv6');
}

class OutboundRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

/**
 * The `fetch` oidc-provider uses for everything it fetches or posts on a client's say-so: client
 * ID metadata documents, `jwks_uri`, back-channel logout tokens. A client chooses those URLs, so
 * this is a server-side request forgery surface: the host name is resolved and *every* address
 * checked before connecting, and the connection goes to the checked address (no second lookup a
 * DNS rebinding could answer differently); https only; no redirects followed; at most 256 KiB and
 * 5 s (the library's own 2.5 s signal applies too, and its per-purpose body limits on top).
 */
export function createOutboundFetch(options: OutboundFetchOptions = {}) {
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { all: true, family: lookupOptions.family, hints: lookupOptions.hints }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = options.allowPrivateAddresses ? undefined : addresses.find((a) => isSpecialUseAddress(a.address));
      if (refused || addresses.length === 0) {
        return callback(new OutboundRefused(`${hostname} resolves to an address that may not be reached`) as NodeJS.ErrnoException, '', 0);
      }
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  return async function outboundFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = new URL(String(input));
    if (url.protocol !== 'https:' && !(options.allowHttp && url.protocol === 'http:')) throw new OutboundRefused('only https:// URLs are fetched');
    if (url.username || url.password) throw new OutboundRefused('URLs with credentials are not fetched');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // An address literal is connected to without a lookup: check it here.
    if (isIP(host) && !options.allowPrivateAddresses && isSpecialUseAddress(host)) throw new OutboundRefused(`${host} may not be reached`);

    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      if (value !== '') headers[name] = value;
    });
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));

    const signal = AbortSignal.any([AbortSignal.timeout(MAX_TIME_MS), ...(init.signal ? [init.signal] : [])]);
    const requestOptions: RequestOptions & { ca?: string } = {
      method: init.method ?? 'GET',
      headers,
      lookup,
      signal,
      ...(options.ca ? { ca: options.ca } : {}),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, requestOptions, resolve);
      req.on('error', reject);
      req.end(body);
    });
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) throw new OutboundRefused('response too large');
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      res.destroy();
      throw err;
    }
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, v);
    }
    const status = res.statusCode ?? 502;
    const hasBody = status !== 204 && status !== 304 && status >= 200;
    return new Response(hasBody ? Buffer.concat(chunks) : null, { status, headers: responseHeaders });
  };
}

export type OutboundFetch = ReturnType<typeof createOutboundFetch>;
