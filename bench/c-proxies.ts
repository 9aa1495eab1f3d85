// The issue's C references, run in the same bench run when installed (`apt-get install haproxy
// nginx`): HAProxy 2.6 checking the bearer token with `jwt_verify` (RS256 signature, iss, aud,
// exp; 401 otherwise) and nginx passing requests through with no auth. Both in the foreground,
// with their distribution's defaults for threads and workers (HAProxy: one thread per CPU, or
// `nbthread` when asked: one thread against one gateway process, two against `--processes 2`;
// nginx: `worker_processes auto` unless asked), on a given CPU when pinned, keep-alive towards
// the stub, and no access log (the gateway writes one line per request: the comparison leaves
// that work to the gateway alone).

import { spawnSync } from 'node:child_process';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { AUDIENCE, ISSUER } from './fixtures.js';
import { onCpu } from './pin.js';
import { accepts, childPids, startProcess, stopProcess, trackDescendant, waitUntil, type Started } from './processes.js';

export interface CProxy {
  readonly p: Started;
  readonly port: number;
  /** every process serving requests (nginx: the master and its workers), for CPU and RSS */
  readonly pids: number[];
  /** name and version, e.g. "HAProxy 2.6.12" */
  readonly version: string;
}

/** What `<command> <flag>` printed (nginx prints its version on stderr), or null when not installed. */
function versionOf(command: string, flag: string): string | null {
  const r = spawnSync(command, [flag], { encoding: 'utf8' });
  return r.error !== undefined ? null : `${r.stdout}\n${r.stderr}`;
}

export function haproxyVersion(): string | null {
  const text = versionOf('haproxy', '-v');
  const m = text === null ? null : /HAProxy version (\S+)/.exec(text);
  return m?.[1] === undefined ? null : `HAProxy ${m[1]}`;
}

export function nginxVersion(): string | null {
  const text = versionOf('nginx', '-v');
  const m = text === null ? null : /nginx\/(\S+)/.exec(text);
  return m?.[1] === undefined ? null : `nginx ${m[1]}`;
}

/** The first key of a JWKS file as an SPKI PEM file, which is what `jwt_verify` reads. */
function pemFromJwks(jwksFile: string, pemFile: string): void {
  const parsed: unknown = JSON.parse(readFileSync(jwksFile, 'utf8'));
  const keys = typeof parsed === 'object' && parsed !== null && 'keys' in parsed ? parsed.keys : null;
  const first: unknown = Array.isArray(keys) ? keys[0] : null;
  if (typeof first !== 'object' || first === null) throw new Error(`${jwksFile} holds no key`);
  const jwk: JsonWebKey = { ...first };
  const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  writeFileSync(pemFile, pem);
}

/**
 * HAProxy with the usual `jwt_verify` recipe: alg must be RS256, iss and aud the bench's, exp
 * present and still ahead, and the signature valid against the key; anything else (no token
 * included) gets a 401.
 * HAProxy 2.6 keeps no verified-token cache: every request pays the signature check.
 */
export async function startHaproxy(o: { readonly dir: string; readonly port: number; readonly stubPort: number; readonly jwksFile: string; readonly threads?: number; readonly cpu?: number | null }): Promise<CProxy> {
  const version = haproxyVersion();
  if (version === null) throw new Error('haproxy is not installed');
  const pemFile = join(o.dir, 'haproxy-key.pem');
  pemFromJwks(o.jwksFile, pemFile);
  const cfg = join(o.dir, `haproxy-${o.threads ?? 'default'}.cfg`);
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 4096',
      ...(o.threads === undefined ? [] : [`  nbthread ${o.threads}`]),
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend bench',
      `  bind 127.0.0.1:${o.port}`,
      '  http-request set-var(txn.bearer) http_auth_bearer',
      "  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')",
      "  http-request set-var(txn.iss) var(txn.bearer),jwt_payload_query('$.iss')",
      "  http-request set-var(txn.aud) var(txn.bearer),jwt_payload_query('$.aud')",
      "  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')",
      '  http-request set-var(txn.now) date()',
      '  http-request return status 401 unless { var(txn.alg) -m str RS256 }',
      `  http-request return status 401 unless { var(txn.iss) -m str ${ISSUER} }`,
      `  http-request return status 401 unless { var(txn.aud) -m str ${AUDIENCE} }`,
      '  http-request return status 401 unless { var(txn.exp) -m found }',
      '  http-request return status 401 if { var(txn.exp),sub(txn.now) -m int le 0 }',
      `  http-request return status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${pemFile}") -m int 1 }`,
      '  default_backend stub',
      'backend stub',
      '  http-reuse always',
      `  server stub 127.0.0.1:${o.stubPort}`,
      '',
    ].join('\n'),
  );
  const cmd = onCpu(o.cpu ?? null, 'haproxy', ['-db', '-f', cfg]);
  const p = startProcess(cmd.command, cmd.args, {});
  try {
    await waitUntil(p, () => accepts(o.port), 10_000, 'haproxy');
  } catch (err) {
    await stopProcess(p, 2000);
    throw err;
  }
  return { p, port: o.port, pids: [p.pid], version };
}

/** nginx relaying to the stub with no auth: the cost of a C proxy's pass-through alone. */
export async function startNginx(o: { readonly dir: string; readonly port: number; readonly stubPort: number; readonly workers?: number; readonly cpu?: number | null }): Promise<CProxy> {
  const version = nginxVersion();
  if (version === null) throw new Error('nginx is not installed');
  const cfg = join(o.dir, 'nginx.conf');
  const tmp = (name: string): string => join(o.dir, `nginx-${name}`);
  writeFileSync(
    cfg,
    [
      `worker_processes ${o.workers ?? 'auto'};`,
      `pid ${tmp('pid')};`,
      `error_log ${tmp('error.log')} error;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${tmp('body')}; proxy_temp_path ${tmp('proxy')};`,
      `  fastcgi_temp_path ${tmp('fcgi')}; uwsgi_temp_path ${tmp('uwsgi')}; scgi_temp_path ${tmp('scgi')};`,
      `  upstream stub { server 127.0.0.1:${o.stubPort}; keepalive 64; }`,
      '  server {',
      `    listen 127.0.0.1:${o.port};`,
      '    keepalive_requests 1000000;',
      '    location / {',
      '      proxy_pass http://stub;',
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      '      proxy_buffering off;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const cmd = onCpu(o.cpu ?? null, 'nginx', ['-c', cfg, '-g', 'daemon off;']);
  const p = startProcess(cmd.command, cmd.args, {});
  // nginx listens before it forks its workers: wait for all of them (`auto`: one per CPU), so
  // that none is left out of the CPU figures.
  const expected = o.workers ?? availableParallelism();
  let workers: number[] = [];
  try {
    await waitUntil(
      p,
      async () => {
        workers = childPids(p.pid);
        for (const w of workers) trackDescendant(w);
        return workers.length >= expected && (await accepts(o.port));
      },
      10_000,
      `nginx (${expected} workers)`,
    );
  } catch (err) {
    await stopProcess(p, 2000);
    throw err;
  }
  return { p, port: o.port, pids: [p.pid, ...workers], version };
}
