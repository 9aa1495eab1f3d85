// Shared fixtures for the config tests: a temp dir to act as the process cwd, real keys from
// node:crypto, and the lab example configs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newKeyPairSync } from '../../../src/main/cli/key-pairs.js';
import type { LoadResult } from '../../../src/main/config/load.js';
import type { ConfigIssue, GatewayConfig } from '../../../src/main/config/types.js';

/** The repo root, from dist/test/unit/config/ (the tests run compiled). */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const LAB_JWTAUTH = join(ROOT, 'examples/lab/ag-jwtauth-config.yaml');
export const LAB_MCP_AUTHZ = join(ROOT, 'examples/lab/ag-mcp-authorization.yaml');

export function readLab(path: string): string {
  return readFileSync(path, 'utf8');
}

/** A JWK as exported by node:crypto, plus the members a JWKS carries. */
export type Jwk = Record<string, unknown>;

export function ecJwk(kid: string, extra: Jwk = {}): Jwk {
  const { publicKey } = newKeyPairSync({ type: 'ec', namedCurve: 'P-256' });
  return { ...publicKey.export({ format: 'jwk' }), kid, ...extra };
}

export function rsaJwk(kid: string, extra: Jwk = {}, modulusLength = 2048): Jwk {
  const { publicKey } = newKeyPairSync({ type: 'rsa', modulusLength });
  return { ...publicKey.export({ format: 'jwk' }), kid, ...extra };
}

export function edJwk(kid: string, extra: Jwk = {}): Jwk {
  const { publicKey } = newKeyPairSync({ type: 'ed25519' });
  return { ...publicKey.export({ format: 'jwk' }), kid, ...extra };
}

/** A private EC key in JWK form (has `d`): must be refused in a JWKS. */
export function privateEcJwk(kid: string): Jwk {
  const { privateKey } = newKeyPairSync({ type: 'ec', namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid };
}

export interface TempCwd {
  readonly dir: string;
  write(name: string, text: string): string;
  writeJwks(name: string, keys: readonly Jwk[]): string;
  remove(): void;
}

export function tempCwd(): TempCwd {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-config-'));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  return {
    dir,
    write,
    writeJwks: (name, keys) => write(name, JSON.stringify({ keys })),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function expectOk(result: LoadResult): GatewayConfig {
  if (!result.ok) throw new Error(`expected the config to load, got:\n${result.issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
  return result.config;
}

export function expectIssues(result: LoadResult): ConfigIssue[] {
  if (result.ok) throw new Error('expected config issues, but the config loaded');
  return result.issues;
}

/** The issues as `path: message` lines, which is what users see. */
export function lines(result: LoadResult): string[] {
  return expectIssues(result).map((i) => `${i.path}: ${i.message}`);
}

/** A minimal valid config around one route body (YAML at route indentation). */
export function withRoute(routeYaml: string): string {
  const indented = routeYaml
    .trim()
    .split('\n')
    .map((l, i) => (i === 0 ? `    - ${l}` : `      ${l}`))
    .join('\n');
  return `binds:\n- port: 9000\n  listeners:\n  - routes:\n${indented}\n`;
}

export const ROUTE = 'binds[0].listeners[0].routes[0]';

/** A JWK member that must be a string (narrows the exported JWK's unknown members). */
export function member(jwk: Jwk, name: string): string {
  const v = jwk[name];
  assert.equal(typeof v, 'string', `JWK member ${name}`);
  return String(v);
}

/** jwtAuth settings when `location` and `jwtValidationOptions` are absent (agentgateway's defaults). */
export const JWT_DEFAULTS = {
  leewaySeconds: 60,
  requiredClaims: ['exp'],
  location: { kind: 'header', name: 'authorization', prefix: 'Bearer ' },
} as const;
/** A route without `mcpAuthentication`. */
export const NO_MCP_AUTHENTICATION = { mcpAuthentication: null };

/** One MCP backend: routes with backend policies (mcpAuthentication, mcpAuthorization) need exactly one. */
export const ONE_BACKEND = 'backends:\n- mcp: {targets: [{name: t, mcp: {host: "http://localhost:1/mcp"}}]}';
