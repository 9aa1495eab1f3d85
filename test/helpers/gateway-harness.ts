// An in-process gateway for integration tests: config built from a small spec (port 0, ops
// listeners off), log lines captured and awaitable, everything closed when the test ends.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/main/gateway.js';
import type { LogSink } from '../../src/main/log/logger.js';
import { tempDir, type CleanupHost } from './files.js';
import { inSeconds, makeIssuer, type Issuer } from './keys.js';

/** The lab's issuer and audience. */
export const LAB_ISSUER = 'acme@example.com';
export const LAB_AUDIENCE = 'mcp.example.com';

export type JwtModeName = 'strict' | 'optional' | 'permissive';
export type RuleSpec = string | { readonly allow: string } | { readonly deny: string } | { readonly require: string };

export interface RouteSpec {
  /** The MCP upstream (`mcp.host`). */
  readonly upstreamUrl: string;
  /** jwtAuth mode; null leaves jwtAuth out (default strict). */
  readonly mode?: JwtModeName | null;
  /** jwks file name relative to the gateway's cwd (default ./jwks-keyset) */
  readonly jwksFile?: string;
  /** mcpAuthorization rules; undefined leaves the policy out */
  readonly rules?: readonly RuleSpec[];
  /** a cors policy as written in the config; undefined leaves it out */
  readonly cors?: Readonly<Record<string, unknown>>;
  /** `backendAuth: { passthrough: {} }` */
  readonly passthrough?: boolean;
  /** bind port (default 0) */
  readonly port?: number;
}

/** agentgateway YAML for one bind, one listener, one route, one MCP target named `mcp`. */
export function gatewayYaml(spec: RouteSpec): string {
  const policies: Record<string, unknown> = {};
  if (spec.cors !== undefined) policies['cors'] = spec.cors;
  const mode = spec.mode === undefined ? 'strict' : spec.mode;
  if (mode !== null) {
    policies['jwtAuth'] = {
      mode,
      issuer: LAB_ISSUER,
      audiences: [LAB_AUDIENCE],
      jwks: { file: spec.jwksFile ?? './jwks-keyset' },
    };
  }
  if (spec.rules !== undefined) policies['mcpAuthorization'] = { rules: spec.rules };
  if (spec.passthrough === true) policies['backendAuth'] = { passthrough: {} };
  const config = {
    binds: [
      {
        port: spec.port ?? 0,
        listeners: [
          {
            routes: [
              {
                policies,
                backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: spec.upstreamUrl } }] } }],
              },
            ],
          },
        ],
      },
    ],
  };
  return stringify(config);
}

/** Log lines captured from a gateway's logSink, with a way to wait for one. */
export class LogCapture implements LogSink {
  readonly lines: string[] = [];
  private readonly watchers = new Set<(line: string, index: number) => void>();

  write(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      this.lines.push(line);
      for (const w of [...this.watchers]) w(line, this.lines.length - 1);
    }
  }

  /** The first line at index >= fromLine matching `pattern`, already written or yet to come. */
  waitFor(pattern: RegExp, opts: { readonly fromLine?: number; readonly timeoutMs?: number } = {}): Promise<string> {
    const fromLine = opts.fromLine ?? 0;
    const seen = this.lines.slice(fromLine).find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const watch = (line: string, index: number): void => {
        if (index < fromLine || !pattern.test(line)) return;
        this.watchers.delete(watch);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.watchers.delete(watch);
        reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; log:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      this.watchers.add(watch);
    });
  }

  /** Access log lines (`\tinfo\trequest `). */
  accessLines(): string[] {
    return this.lines.filter((l) => l.includes('\tinfo\trequest '));
  }
}

export interface TestGateway {
  readonly gateway: Gateway;
  /** http://127.0.0.1:<port>/mcp */
  readonly url: string;
  readonly log: LogCapture;
}

/** PORTCULLIS_TEST_UPSTREAM_CLIENT=undici|portcullis runs the tests' gateways on that upstream
 * client whatever their config says (CI runs the integration tests once more with undici, the
 * client that is not the default). */
function upstreamClientOverride(): Pick<GatewayOptions, 'upstreamClient'> {
  const chosen = process.env['PORTCULLIS_TEST_UPSTREAM_CLIENT'];
  if (chosen === undefined || chosen === '') return {};
  if (chosen !== 'undici' && chosen !== 'portcullis') throw new Error(`PORTCULLIS_TEST_UPSTREAM_CLIENT: expected undici or portcullis, got ${chosen}`);
  return { upstreamClient: chosen };
}

/**
 * startGateway with ops listeners off and logs captured; closed in t.after. Pass configText or
 * configFile (and cwd) like startGateway; `workers` defaults to 0 (inline) to keep tests light.
 */
export async function startTestGateway(t: CleanupHost, options: GatewayOptions): Promise<TestGateway> {
  const log = new LogCapture();
  const gateway = await startGateway({
    workers: 0,
    adminAddr: null,
    statsAddr: null,
    readinessAddr: null,
    logSink: log,
    ...upstreamClientOverride(),
    ...options,
  });
  t.after(() => gateway.close({ drainMs: 0 }));
  return { gateway, url: `http://127.0.0.1:${gateway.port}/mcp`, log };
}

export interface LabKeys {
  /** temp dir holding `jwks-keyset` (the issuer's public key) */
  readonly dir: string;
  readonly issuer: Issuer;
  /** sub jsmith, no roles */
  readonly jsmith: string;
  /** sub pointy-haired-boss, roles [admin] */
  readonly admin: string;
}

/** A temp cwd with `./jwks-keyset` and the lab's two users' tokens (valid for an hour). */
export async function labKeys(t: CleanupHost): Promise<LabKeys> {
  const dir = await tempDir(t);
  const issuer = await makeIssuer();
  await writeFile(join(dir, 'jwks-keyset'), JSON.stringify(issuer.jwks));
  const base = { iss: LAB_ISSUER, aud: LAB_AUDIENCE, iat: inSeconds(0), exp: inSeconds(3600) };
  return {
    dir,
    issuer,
    jsmith: await issuer.sign({ ...base, sub: 'jsmith' }),
    admin: await issuer.sign({ ...base, sub: 'pointy-haired-boss', roles: ['admin'] }),
  };
}
