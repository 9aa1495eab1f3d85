// `portcullis`: the gateway process (agentgateway's flags: -f, -c, --validate-only), plus the
// lab's helpers (`keys`, `token`) and the built-in `demo`.

import { availableParallelism } from 'node:os';
import { loadConfigFile, loadConfigText, formatIssues } from './config/load.js';
import type { LogFormat } from './config/types.js';
import { ConfigError, startGateway, type Gateway } from './gateway.js';
import { loadUws, UwsLoadError } from './http/uws.js';
import { processIo } from './cli/io.js';
import { runKeysCommand } from './cli/keys.js';
import { runTokenCommand } from './cli/token.js';
import { runDemo } from './cli/demo.js';
import { runProcesses } from './cli/processes.js';
import { setHeapGrowth } from './heap-growth.js';
import { ProcessSignals } from './cli/signals.js';
import { version } from './version.js';
import { errorText } from '../protocol/errors.js';

const usage = `Usage:
  portcullis -f <config.yaml> [options]     run the gateway (the file is watched and reloaded)
  portcullis -c '<yaml text>' [options]      run the gateway with an inline config
  portcullis demo                            echo server + keys + tokens + gateway, ready to try
  portcullis keys create <pub-key> <priv-key> [--alg ES256] [--keyset <jwks-file>]
  portcullis keys add <jwks-file> [<pub-key>]   (reads the public JWK from stdin when not given)
  portcullis token sign --key <priv-key> [--iss X] [--aud Y] [--sub Z] [--exp <unix>]   (extra claims as JSON on stdin)

Options:
  --validate-only          check the config, print "Configuration is valid!" or the errors, exit 0/1
  --workers <n>            worker threads that filter lists (0 = inline on the main thread)
  --log-format text|json   access log format (default text, agentgateway's)
  --processes <n|auto>     run n gateway processes (auto: one per core) sharing the port (SO_REUSEPORT)
                           and a session key (without one configured, a random key they share)
  --allow-uws-fallback     run even if uWebSockets.js' native binary does not load (slow)
  -V, --version            print the version

Environment:
  PORTCULLIS_SESSION_KEY   the MCP session key; overrides config.session.key

Signals:
  SIGHUP                   reload the config file (-f), as a change of the file does
  SIGTERM, SIGINT          stop accepting, let requests in flight finish, exit
`;

interface RunArgs {
  file?: string;
  text?: string;
  validateOnly: boolean;
  workers?: number;
  logFormat?: LogFormat;
  allowFallback: boolean;
  processes: number;
  /** the arguments without --processes, for the forked gateway processes */
  childArgs: string[];
}

/** A count written in decimal digits; NaN for anything else (Number() reads "" and " " as 0, "0x2" as 2). */
function count(text: string | undefined): number {
  return text !== undefined && /^\d{1,4}$/.test(text) ? Number(text) : NaN;
}

function parseRunArgs(argv: readonly string[]): RunArgs | string {
  const out: RunArgs = { validateOnly: false, allowFallback: false, processes: 1, childArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const start = i;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '-f':
      case '--file': {
        const v = value();
        if (v === undefined) return `${flag} needs a file`;
        out.file = v;
        break;
      }
      case '-c':
      case '--config': {
        const v = value();
        if (v === undefined) return `${flag} needs the config text`;
        out.text = v;
        break;
      }
      case '--validate-only':
        out.validateOnly = true;
        break;
      case '--workers': {
        const v = count(value());
        if (!Number.isInteger(v) || v < 0 || v > 256) return '--workers expects an integer from 0 to 256';
        out.workers = v;
        break;
      }
      case '--log-format': {
        const v = value();
        if (v !== 'text' && v !== 'json') return '--log-format expects text or json';
        out.logFormat = v;
        break;
      }
      case '--allow-uws-fallback':
        out.allowFallback = true;
        break;
      case '--processes': {
        const raw = value();
        // auto: one event loop per core the process may use (HAProxy's default, nginx's `auto`)
        const v = raw === 'auto' ? availableParallelism() : count(raw);
        if (!Number.isInteger(v) || v < 1 || v > 256) return '--processes expects an integer from 1 to 256, or auto';
        out.processes = v;
        continue;
      }
      default:
        return `unknown argument: ${arg}`;
    }
    out.childArgs.push(...argv.slice(start, i + 1));
  }
  if (out.file !== undefined && out.text !== undefined) return 'only one of --config or --file';
  return out;
}

/** PORTCULLIS_SESSION_KEY; empty counts as unset (config.session.key may not be empty either). */
function envSessionKey(): string | undefined {
  const key = process.env['PORTCULLIS_SESSION_KEY'];
  return key === '' ? undefined : key;
}

/** Why several processes cannot run here, or null. */
function frontForProcesses(allowFallback: boolean): string | null {
  try {
    if (loadUws(allowFallback).native) return null;
    return "--processes needs uWebSockets.js' native binary: on the node:http fallback the processes cannot share a port";
  } catch (err) {
    if (err instanceof UwsLoadError) return err.message;
    throw err;
  }
}

async function runGateway(args: RunArgs): Promise<number> {
  if (args.validateOnly || args.processes > 1) return validateOrFork(args);
  setHeapGrowth();
  const signals = new ProcessSignals();
  const gateway = await startFromArgs(args);
  if (gateway === null) return 1;
  gateway.logger.info('portcullis', `ready: ${[...gateway.ports].map(([n, p]) => `${n} on port ${p}`).join(', ') || 'no binds'}`, [
    ['workers', gateway.workerMode],
  ]);
  return new Promise((resolve) => {
    let draining = false;
    signals.serve({
      hangup: () => {
        if (draining) gateway.logger.info('portcullis', 'received SIGHUP while draining: nothing to reload');
        else if (args.file === undefined) gateway.logger.info('portcullis', 'received SIGHUP: the config was given inline (-c), nothing to reload');
        else {
          gateway.logger.info('portcullis', `received SIGHUP, reloading ${args.file}`);
          // reload() logs its outcome and never rejects; a bad file leaves the running config.
          void gateway.reload();
        }
      },
      stop: (why) => {
        if (draining) return;
        draining = true;
        gateway.logger.info('portcullis', `${why}, draining`);
        gateway.close().then(() => resolve(0), () => resolve(1));
      },
    });
  });
}

/** --validate-only, or --processes n: the config checked here, then the processes forked. */
function validateOrFork(args: RunArgs): Promise<number> | number {
  const cwd = process.cwd();
  const result = args.file !== undefined
    ? loadConfigFile(args.file, { cwd, env: process.env })
    : loadConfigText(args.text ?? '{}', { cwd, env: process.env });
  if (!result.ok) {
    process.stderr.write(`${formatIssues(result.issues)}\n`);
    return 1;
  }
  if (args.validateOnly) {
    process.stdout.write('Configuration is valid!\n');
    return 0;
  }
  // Checked once here, not by each process in a restart loop: without the native binary a
  // process cannot start, or (on the opt-in node:http fallback) cannot share the port.
  const front = frontForProcesses(args.allowFallback || process.env['PORTCULLIS_ALLOW_UWS_FALLBACK'] === '1');
  if (front !== null) {
    process.stderr.write(`portcullis: ${front}\n`);
    return 1;
  }
  // The processes' shared key: the explicit one, else the configured one, else a random one.
  const sessionKey = envSessionKey() ?? result.config.runtime.sessionKey;
  return runProcesses({ count: args.processes, argv: args.childArgs, sessionKey, log: (line) => process.stderr.write(`${line}\n`) });
}

/** The gateway started, or null once the reason it could not start is printed. */
async function startFromArgs(args: RunArgs): Promise<Gateway | null> {
  const sessionKey = envSessionKey();
  try {
    return await startGateway({
      ...(args.file !== undefined ? { configFile: args.file } : {}),
      ...(args.text !== undefined ? { configText: args.text } : {}),
      ...(args.workers !== undefined ? { workers: args.workers } : {}),
      ...(args.logFormat !== undefined ? { logFormat: args.logFormat } : {}),
      allowUwsFallback: args.allowFallback || process.env['PORTCULLIS_ALLOW_UWS_FALLBACK'] === '1',
      ...(sessionKey !== undefined ? { sessionKey } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${formatIssues([...err.issues])}\n`);
    else process.stderr.write(`portcullis: ${errorText(err)}\n`);
    return null;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const io = processIo();
  switch (command) {
    case 'keys':
      return runKeysCommand(rest, io);
    case 'token':
      return runTokenCommand(rest, io);
    case 'demo':
      return runDemo(rest, io);
    case '-h':
    case '--help':
    case 'help':
      io.stdout(usage);
      return 0;
    case '-V':
    case '--version':
      io.stdout(`portcullis ${version}\n`);
      return 0;
    default: {
      const args = parseRunArgs(argv);
      if (typeof args === 'string') {
        io.stderr(`portcullis: ${args}\n\n${usage}`);
        return 2;
      }
      return runGateway(args);
    }
  }
}
