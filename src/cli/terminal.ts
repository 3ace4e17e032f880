/**
 * Where a command writes its output and reads its input: the process's own streams when run as
 * `gatehouse …`, or buffers when a test runs a command in its own process.
 */
export type Terminal = {
  out: (text: string) => void;
  err: (text: string) => void;
  /** All of standard input, with one trailing newline removed (`--password-stdin`, `--client-secret-stdin`). */
  readInput: () => Promise<string>;
};

export const processTerminal: Terminal = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  readInput: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  },
};
