import { once } from 'node:events';
import { createServer, Socket } from 'node:net';

/**
 * A TCP proxy in front of a server of the test's own, that can hold back the server's answer to a
 * chosen request: the request reaches the server (and takes effect there), its answer never
 * reaches the client. With the server then crashed, that is a lost acknowledgement.
 */
export type TcpProxy = {
  port: number;
  /**
   * From now on, the first client bytes containing `marker` arm the trap on their connection: the
   * server's next answer on it (whatever it sends until `answerEnd` is seen) is held, not forwarded.
   * Resolves once that whole answer has been received and held back.
   */
  holdAnswerTo: (marker: string, answerEnd: (held: Buffer) => boolean) => Promise<void>;
  /** Drops every connection (held bytes are discarded). */
  dropAll: () => void;
  close: () => Promise<void>;
};

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let trap: { marker: string; answerEnd: (held: Buffer) => boolean; held: () => void } | undefined;

  const server = createServer((client) => {
    const upstream = new Socket();
    const pair = { client, upstream };
    pairs.add(pair);
    let tail = ''; // the end of the previous chunk: a marker may straddle two chunks
    let holding: { chunks: Buffer[]; done: () => void; answerEnd: (held: Buffer) => boolean } | undefined;
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => {
      if (trap) {
        const text = tail + chunk.toString('latin1');
        tail = text.slice(-trap.marker.length);
        if (text.includes(trap.marker)) {
          holding = { chunks: [], done: trap.held, answerEnd: trap.answerEnd };
          trap = undefined;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!holding) return void client.write(chunk);
      holding.chunks.push(chunk);
      if (holding.answerEnd(Buffer.concat(holding.chunks))) holding.done();
    });
    upstream.connect(targetPort, '127.0.0.1');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return {
    port: (server.address() as { port: number }).port,
    holdAnswerTo: (marker, answerEnd) => new Promise<void>((resolve) => (trap = { marker, answerEnd, held: resolve })),
    dropAll: () => {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    close: async () => {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
