import { type Agent, request } from 'node:http';

export type RawResponse = { status: number; headers: Record<string, string | string[] | undefined>; text: string };

export type RawRequest = {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  /** Sent as is: a string (UTF-8), raw bytes, or several chunks (chunked transfer encoding, no Content-Length). */
  body?: string | Buffer | Buffer[];
  /** A keep-alive agent, to send several requests on one connection; default: a fresh connection. */
  agent?: Agent;
  /** The client's own address (any 127.x.y.z works on loopback): to be a listed proxy, or not. */
  localAddress?: string;
};

/**
 * One request, on a fresh connection unless an agent is given, with bytes no fetch() would send:
 * invalid UTF-8, repeated headers, no Content-Type. A server may answer before reading the whole
 * body and close the socket; the answer counts and the write error that follows is ignored.
 */
export function rawRequest(origin: string, options: RawRequest): Promise<RawResponse> {
  const url = new URL(options.path, origin);
  const { body } = options;
  const headers = { ...options.headers };
  if (body !== undefined && !Array.isArray(body) && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'GET',
        headers,
        agent: options.agent ?? false,
        localAddress: options.localAddress,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => {});
        res.on('close', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (Array.isArray(body)) for (const chunk of body) req.write(chunk);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}
