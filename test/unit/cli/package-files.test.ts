// The npm package runs as installed: every module it ships (the CLI, the gateway, and the echo
// server `portcullis demo` spawns) imports only files the package ships and packages it lists
// in `dependencies`, not devDependencies an installed package does not get. The file list is
// npm's own (`npm pack --dry-run --json`), so the `files` field is tested as npm reads it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const run = promisify(execFile);

/** Module specifiers a compiled file names: import/export statements (tsc writes one per line)
 * and dynamic imports of a literal string, outside line comments. */
function specifiers(js: string): string[] {
  const out: string[] = [];
  for (const line of js.split('\n')) {
    if (line.trimStart().startsWith('//')) continue;
    const statement = /^(?:import|export)\b.*?\bfrom\s*'([^'\s]+)';|^import\s+'([^'\s]+)';/.exec(line);
    if (statement) out.push(statement[1] ?? statement[2] ?? '');
    for (const m of line.matchAll(/\bimport\(\s*'([^'\s]+)'\s*\)/g)) out.push(m[1] ?? '');
  }
  return out;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? spec);
}

describe('the npm package', () => {
  let shipped: Set<string>;
  let dependencies: Set<string>;

  before(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    const [pack] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    shipped = new Set((pack?.files ?? []).map((f) => normalize(f.path)));
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
  });

  it('ships the CLI, the gateway and the demo echo server', () => {
    for (const f of ['bin/portcullis.js', 'dist/src/main/cli.js', 'dist/src/main/index.js']) assert.ok(shipped.has(f), f);
    assert.ok(shipped.has('dist/examples/echo-server/server.js'), 'portcullis demo spawns it');
    assert.ok(shipped.has('examples/lab/ag-mcp-authorization.yaml'), 'portcullis demo runs it');
  });

  it('imports only what it ships and what dependencies install', async () => {
    const missing: string[] = [];
    for (const file of shipped) {
      if (!file.endsWith('.js')) continue;
      const js = await readFile(join(root, file), 'utf8');
      for (const spec of specifiers(js)) {
        if (spec.startsWith('.')) {
          const target = normalize(join(dirname(file), spec));
          if (!shipped.has(target)) missing.push(`${file} imports ${spec}, which the package does not ship`);
        } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
          const name = packageOf(spec);
          if (!dependencies.has(name)) missing.push(`${file} imports ${spec}, and ${name} is not in dependencies`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });
});
