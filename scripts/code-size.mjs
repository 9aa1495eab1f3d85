#!/usr/bin/env node
// Sizes of the source, for keeping it walkable: the longest functions and files under src, and the
// imports between its folders (src/main/<part>, src/workers, src/protocol). Reads the AST through
// the TypeScript compiler's API, so strings, comments and nested functions count as they are.
// Usage: node scripts/code-size.mjs [--top N] [--functions-over L] [--files-over L]
// With a limit given, exits 1 when something exceeds it (and lists what does).
import { relative, dirname, resolve } from 'node:path';
import { API } from 'typescript/unstable/sync';
import { isArrowFunction, isConstructorDeclaration, isFunctionDeclaration, isFunctionExpression, isGetAccessorDeclaration, isSetAccessorDeclaration, isMethodDeclaration, isImportDeclaration, isExportDeclaration, isCallExpression, isStringLiteral, isVariableDeclaration, isPropertyAssignment, isPropertyDeclaration, isClassDeclaration, isIdentifier, isPrivateIdentifier, isNewExpression } from 'typescript/unstable/ast/is';
import { SyntaxKind } from 'typescript/unstable/ast';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const top = option('--top', 15);
const functionLimit = option('--functions-over', null);
const fileLimit = option('--files-over', null);

const root = process.cwd();
const api = new API({ cwd: root });
const project = api.updateSnapshot({ openProject: resolve(root, 'tsconfig.json') }).getProjects()[0];
const sources = project.rootFiles.filter((f) => relative(root, f).startsWith('src/') && f.endsWith('.ts'));

const isFunctionLike = (n) =>
  isFunctionDeclaration(n) || isFunctionExpression(n) || isArrowFunction(n) || isMethodDeclaration(n) ||
  isConstructorDeclaration(n) || isGetAccessorDeclaration(n) || isSetAccessorDeclaration(n);

function nameOf(n) {
  const own = n.name !== undefined && (isIdentifier(n.name) || isPrivateIdentifier(n.name)) ? n.name.text : isConstructorDeclaration(n) ? 'constructor' : null;
  const p = n.parent;
  const named = own ?? ((isVariableDeclaration(p) || isPropertyAssignment(p) || isPropertyDeclaration(p)) && isIdentifier(p.name) ? p.name.text : '<anonymous>');
  const owner = isPropertyDeclaration(p) ? p.parent : p;
  const cls = owner !== undefined && isClassDeclaration(owner) && owner.name !== undefined ? `${owner.name.text}.` : '';
  return cls + named;
}

/** The folder an import counts under: src/main/<part> (files right in src/main: src/main). */
function folderOf(file) {
  const rel = relative(root, file);
  const parts = rel.split('/');
  if (parts[1] === 'main' && parts.length > 3) return `src/main/${parts[2]}`;
  return parts.slice(0, 2).join('/');
}

const functions = [];
const files = [];
const edges = new Map();
const addEdge = (from, spec, how = '') => {
  if (!spec.startsWith('.')) return;
  const target = resolve(dirname(from), spec);
  const a = folderOf(from);
  const b = folderOf(target);
  if (a === b || !b.startsWith('src/')) return;
  const key = `${a} -> ${b}${how}`;
  edges.set(key, (edges.get(key) ?? 0) + 1);
};

for (const file of sources) {
  const sf = project.program.getSourceFile(file);
  const line = (pos) => sf.getLineAndCharacterOfPosition(pos).line;
  const rel = relative(root, file);
  files.push({ rel, lines: line(sf.end) + (sf.text.endsWith('\n') ? 0 : 1) });
  const visit = (n) => {
    if (isFunctionLike(n) && n.body !== undefined) {
      const lines = line(n.end) - line(n.getStart(sf)) + 1;
      functions.push({ rel, name: nameOf(n), at: line(n.getStart(sf)) + 1, lines });
    }
    if ((isImportDeclaration(n) || isExportDeclaration(n)) && n.moduleSpecifier !== undefined && isStringLiteral(n.moduleSpecifier)) {
      addEdge(file, n.moduleSpecifier.text);
    }
    if (isCallExpression(n) && n.expression.kind === SyntaxKind.ImportKeyword && n.arguments[0] !== undefined && isStringLiteral(n.arguments[0])) {
      addEdge(file, n.arguments[0].text);
    }
    // A module loaded at run time: `new URL('../x.js', import.meta.url)`.
    if (isNewExpression(n) && isIdentifier(n.expression) && n.expression.text === 'URL' && n.arguments?.length === 2 && isStringLiteral(n.arguments[0]) && n.arguments[1].getText(sf) === 'import.meta.url') {
      addEdge(file, n.arguments[0].text, ' (by URL)');
    }
    n.forEachChild(visit);
  };
  sf.forEachChild(visit);
}
api.close();

functions.sort((a, b) => b.lines - a.lines);
files.sort((a, b) => b.lines - a.lines);
console.log(`functions (${functions.length}), longest:`);
for (const f of functions.slice(0, top)) console.log(`  ${String(f.lines).padStart(4)}  ${f.rel}:${f.at}  ${f.name}`);
console.log(`files (${files.length}), longest:`);
for (const f of files.slice(0, top)) console.log(`  ${String(f.lines).padStart(4)}  ${f.rel}`);
console.log('imports between folders (count of import statements; by URL: a module loaded at run time):');
for (const [k, v] of [...edges].sort(([a], [b]) => a.localeCompare(b))) console.log(`  ${k}  ${v}`);

let over = false;
if (functionLimit !== null) {
  for (const f of functions.filter((x) => x.lines > functionLimit)) {
    over = true;
    console.error(`function over ${functionLimit} lines: ${f.rel}:${f.at} ${f.name} (${f.lines})`);
  }
}
if (fileLimit !== null) {
  for (const f of files.filter((x) => x.lines > fileLimit)) {
    over = true;
    console.error(`file over ${fileLimit} lines: ${f.rel} (${f.lines})`);
  }
}
process.exitCode = over ? 1 : 0;
