// Seeing processes the gateway starts (stdio targets) come and go, without polling: each child
// is run with `node --import <probe>`, which connects back to a TCP server here and sends its
// pid. The kernel closes that socket when the process ends, however it ends, so `exited`
// settles on an event.
import { createServer, type Server, type Socket } from 'node:net';

export interface ProbedProcess {
  readonly pid: number;
  /** settles when the process has ended */
  readonly exited: Promise<void>;
}

export interface ExitProbe {
  /** node arguments to put before the script: `--import data:…` */
  readonly nodeArgs: readonly string[];
  /** environment the child needs (the probe's port) */
  readonly env: Readonly<Record<string, string>>;
  /** processes seen so far, in the order they connected */
  readonly processes: readonly ProbedProcess[];
  /** the index-th process to connect (0-based), now or once it does */
  started(index: number, timeoutMs?: number): Promise<ProbedProcess>;
  /** processes not yet ended */
  alive(): number;
  close(): Promise<void>;
}

const ENV_NAME = 'PORTCULLIS_EXIT_PROBE_PORT';

// Runs in the child before its script. The socket is unref'd so it never keeps the child alive.
const PROBE_SOURCE =
  "import{connect}from'node:net';" +
  `const s=connect(Number(process.env.${ENV_NAME}),'127.0.0.1');` +
  "s.on('error',()=>{});s.write(process.pid+'\\n');s.unref();";

export async function startExitProbe(): Promise<ExitProbe> {
  const processes: ProbedProcess[] = [];
  const ended = new Set<number>();
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let buffered = '';
    let resolveExit: () => void = () => {};
    const exited = new Promise<void>((resolve) => (resolveExit = resolve));
    let pid: number | null = null;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (pid !== null || nl < 0) return;
      pid = Number(buffered.slice(0, nl));
      processes.push({ pid, exited });
      for (const w of [...waiters]) w();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      if (pid !== null) ended.add(pid);
      resolveExit();
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      if (a === null || typeof a === 'string') reject(new Error('no TCP address'));
      else resolve(a.port);
    });
  });
  return {
    nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(PROBE_SOURCE)}`],
    env: { [ENV_NAME]: String(port) },
    processes,
    started(index, timeoutMs = 15_000) {
      const seen = processes[index];
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const p = processes[index];
          if (p === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(p);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`process #${index} did not start within ${timeoutMs} ms (${processes.length} seen)`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    alive: () => processes.filter((p) => !ended.has(p.pid)).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
