import { once } from 'node:events';
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Backend = { name: string; origin: string };

/**
 * A stand-in for the load balancer of a real deployment: one stable address (the ISSUER of every
 * instance behind it) that forwards each request, Host header intact, to the backend `route`
 * picks. Lets tests restart an instance or spread one flow over several without the issuer
 * changing, and records who served what.
 */
export async function startFrontDoor(route: (req: IncomingMessage) => Backend) {
  const served: { method: string; path: string; backend: string }[] = [];
  const server = createServer((req, res) => {
    const backend = route(req);
    served.push({ method: req.method!, path: req.url!.split('?')[0]!, backend: backend.name });
    const upstream = request(`${backend.origin}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.rawHeaders);
      answer.pipe(res);
    });
    upstream.on('error', (err) => res.writeHead(502).end(err.message));
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
