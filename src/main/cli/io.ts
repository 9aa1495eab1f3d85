// The CLI's window on the world, passed in so commands can be tested without a process.

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** All of stdin as text, or null when stdin is a terminal (nothing was piped in). */
  readonly readStdin: () => Promise<string | null>;
  /** Relative paths on the command line resolve against this. */
  readonly cwd: string;
}

export function processIo(): CliIo {
  return {
    stdout: (s) => {
      process.stdout.write(s);
    },
    stderr: (s) => {
      process.stderr.write(s);
    },
    // Like step: piped or redirected stdin is read to its end. A caller that spawns us with an
    // open stdin pipe must close it (or use stdio 'ignore'), or this waits for it.
    readStdin: async () => {
      if (process.stdin.isTTY) return null;
      process.stdin.setEncoding('utf8');
      let text = '';
      for await (const chunk of process.stdin) text += String(chunk);
      return text;
    },
    cwd: process.cwd(),
  };
}
