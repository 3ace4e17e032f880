import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

// A keep-alive socket idle this long while draining is closed. Not at once: a client that has just
// received an answer is usually already sending its next request on the same socket, and closing
// under it resets that request. Given a moment, it sends it and is answered with Connection: close.
// 250 ms was too short for a client on a starved machine (one reset in a suite run with three
// test workers on two cores); a second costs a drain at most a second more.
const IDLE_CLOSE_MS = 1000;
const SWEEP_MS = 50;

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Graceful shutdown for an HTTP/1.1 server under keep-alive load. `handler` wraps the request
 * handler to know which sockets carry a request and which handlers are still running. `drain()`
 * stops accepting connections, answers every request already taken or arriving on an open socket
 * with `Connection: close` (RFC 9112 §9.6: the client opens its next connection elsewhere), closes
 * sockets left idle, and resolves once every connection has closed and every handler finished —
 * or after `graceMs`, when what is left is cut.
 */
export function gracefulDrain(server: Server) {
  const sockets = new Map<Socket, { busy: number; idleSinceMs: number }>();
  const open = new Set<ServerResponse>();
  const running = new Set<Promise<unknown>>();
  let isDraining = false;

  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { busy: 0, idleSinceMs: Date.now() });
    socket.once('close', () => sockets.delete(socket));
  });

  const wrap =
    (handle: Handler): Handler =>
    (req, res) => {
      const state = sockets.get(req.socket);
      if (state) state.busy += 1;
      open.add(res);
      if (isDraining) res.setHeader('Connection', 'close');
      res.once('close', () => {
        open.delete(res);
        if (state) {
          state.busy -= 1;
          state.idleSinceMs = Date.now();
        }
      });
      const run = Promise.resolve()
        .then(() => handle(req, res))
        .catch(() => {}); // Koa handles its own errors; nothing may escape here
      running.add(run);
      void run.finally(() => running.delete(run));
    };

  const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  return {
    handler: wrap,
    get isDraining() {
      return isDraining;
    },
    async drain(graceMs: number): Promise<{ isComplete: boolean }> {
      isDraining = true;
      for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
      // net.Server#close, not http.Server#close: the latter also closes every idle keep-alive socket
      // at once, racing clients that are just sending their next request on one.
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      const sweep = setInterval(() => {
        const now = Date.now();
        for (const [socket, s] of sockets) if (s.busy === 0 && now - s.idleSinceMs >= IDLE_CLOSE_MS) socket.destroy();
      }, SWEEP_MS);
      const deadline = Date.now() + graceMs;
      const isComplete = await Promise.race([closed.then(() => true), delay(graceMs).then(() => false)]);
      clearInterval(sweep);
      if (!isComplete) server.closeAllConnections();
      // Handlers may still be running after their socket closed (a client that gave up): let them
      // finish before the pools they use are closed, within what is left of the grace.
      await Promise.race([Promise.allSettled([...running]), delay(Math.max(0, deadline - Date.now()))]);
      return { isComplete: isComplete && running.size === 0 };
    },
  };
}
