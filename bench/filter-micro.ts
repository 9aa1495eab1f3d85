// Micro-benchmark of the filter op alone: the text scan (src/workers/filter-list.ts) against the
// JSON.parse + JSON.stringify implementation it replaced (parse-based-filter.ts), on the bench's
// tools/list answers (20 tools ≈ 8.7 KB, 200 ≈ 87 KB) with the bench's one allow rule (keeps
// echo and read_*, about half). CPU time by process.cpuUsage(), user + system, in one thread.
//
//   npm run build && node dist/bench/filter-micro.js [--iterations 2000] [--rounds 11]
//
// Rounds alternate old and new so drift (frequency, GC, other load) hits both alike; the
// median round is reported.

import type { CelContext, RuleInit } from '../src/protocol/worker-contract.js';
import { compileRuleSet, type CompiledRuleSet } from '../src/workers/cel/compile.js';
import { evaluateRules, withoutStackTraces } from '../src/workers/cel/decide.js';
import { ListJudge } from '../src/workers/cel/list-judge.js';
import { filterList, itemContext, SHAPES, type FilterRequest } from '../src/workers/filter-list.js';
import { JsonScanner } from '../src/protocol/json-scan.js';
import { ALLOW_RULE, ruleSet, tools } from './fixtures.js';
import { parseBasedFilterList } from './parse-based-filter.js';


function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at < 0 ? undefined : Number(process.argv[at + 1]);
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

const ITERATIONS = option('--iterations', 2000);
const ROUNDS = option('--rounds', 11);

const ctx: CelContext = { jwt: { sub: 'bench' }, mcp: null, request: null, source: null };
const oneRule = compileRuleSet({ id: 1, rules: [{ kind: 'allow', expr: ALLOW_RULE }] });

const asInit = (rules: ReadonlyArray<string | { deny: string }>): RuleInit[] =>
  rules.map((r) => (typeof r === 'string' ? { kind: 'allow', expr: r } : { kind: 'deny', expr: r.deny }));
/** 20-rule sets, each rule evaluated for every item when judged item by item. */
const twentyRules: ReadonlyArray<readonly [string, CompiledRuleSet]> = [
  // the bench's: 19 deny rules on the token alone, then ALLOW_RULE
  ['20 rules, 19 token-only', compileRuleSet({ id: 2, rules: asInit(ruleSet(20)) })],
  // the lab's form, for a caller without the role: each rule's token part is false
  ['20 rules, lab form', compileRuleSet({ id: 3, rules: asInit([...Array.from({ length: 19 }, (_, i) => ({ deny: `mcp.tool.name == "t${i}" && "admin" in jwt.roles` })), ALLOW_RULE]) })],
  // every rule reads the item: nothing to evaluate once per list
  ['20 rules, all read mcp', compileRuleSet({ id: 4, rules: asInit([...Array.from({ length: 19 }, (_, i) => ({ deny: `mcp.tool.name == "blocked_${i}"` })), ALLOW_RULE]) })],
];

/** µs of CPU per call over `iterations` calls. */
function cpuPerCall(iterations: number, fn: () => unknown): number {
  let sink = 0;
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) if (fn() !== null) sink++;
  const used = process.cpuUsage(before);
  if (sink < 0) console.log(sink); // keeps the calls observable
  return (used.user + used.system) / iterations;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface Case {
  readonly label: string;
  readonly old: () => unknown;
  readonly new: () => unknown;
}

function cases(): Case[] {
  const out: Case[] = [];
  const inputs: Array<readonly [string, string]> = [20, 200].map((n) => [`${n} tools`, JSON.stringify({ jsonrpc: '2.0', id: 2, result: { tools: tools(n) } })]);
  // Indented JSON is the scanner's weak case (whitespace is read in JS); few upstreams send it.
  inputs.push(['20 tools, indented', JSON.stringify({ jsonrpc: '2.0', id: 2, result: { tools: tools(20) } }, null, 2)]);
  for (const [name, body] of inputs) {
    const kb = (Buffer.byteLength(body) / 1000).toFixed(1);
    for (const prefix of [false, true]) {
      const req: FilterRequest = { ctx, list: 'tools', target: 'mcp', prefix, body };
      const a = parseBasedFilterList(oneRule, req);
      const b = filterList(oneRule, req);
      if (JSON.stringify(JSON.parse(a.body ?? body)) !== JSON.stringify(JSON.parse(b.body ?? body)) || a.kept !== b.kept) {
        throw new Error(`old and new disagree on ${name}`);
      }
      out.push({
        label: `${name} (${kb} KB), 1 rule${prefix ? ', prefix' : ''}: filter`,
        old: () => parseBasedFilterList(oneRule, req),
        new: () => filterList(oneRule, req),
      });
    }
    if (name === '20 tools') {
      const names = tools(20).map((t) => String(t['name']));
      for (const [rulesLabel, rules] of twentyRules) {
        // CEL alone: each item judged by itself (as before list-judge.ts, and as parse-based-filter.ts does) against once per list
        out.push({
          label: `${rulesLabel}: judging 20 items`,
          old: () => withoutStackTraces(() => names.filter((n) => evaluateRules(rules, itemContext(ctx, SHAPES.tools, n, 'mcp'), { count: 0 }))),
          new: () => withoutStackTraces(() => {
            const judge = new ListJudge(rules, { count: 0 });
            return names.filter((n) => judge.allows(itemContext(ctx, SHAPES.tools, n, 'mcp')));
          }),
        });
      }
    }
    // The parse (or the scan) alone: no rules, no output.
    out.push({ label: `${name}: parse only (JSON.parse vs scan)`, old: () => JSON.parse(body), new: () => new JsonScanner(body).isJsonText() });
  }
  return out;
}

const all = cases();
// Warm every path first (CEL, the scanner, JSON.parse all reach optimised code), then time each
// case old/new in turn, round after round, so drift hits every row alike.
for (const c of all) {
  cpuPerCall(ITERATIONS, c.old);
  cpuPerCall(ITERATIONS, c.new);
}
const olds = all.map((): number[] => []);
const news = all.map((): number[] => []);
for (let r = 0; r < ROUNDS; r++) {
  all.forEach((c, k) => {
    olds[k]?.push(cpuPerCall(ITERATIONS, c.old));
    news[k]?.push(cpuPerCall(ITERATIONS, c.new));
  });
}
console.log(`filter micro-benchmark: ${ITERATIONS} iterations × ${ROUNDS} rounds, CPU µs per call, median (min) over rounds (Node ${process.version})`);
console.log('| case | old µs | new µs | new/old |');
console.log('|---|---:|---:|---:|');
all.forEach((c, k) => {
  const o = olds[k] ?? [];
  const n = news[k] ?? [];
  const cell = (v: readonly number[]): string => `${median(v).toFixed(1)} (${Math.min(...v).toFixed(1)})`;
  console.log(`| ${c.label} | ${cell(o)} | ${cell(n)} | ${(median(n) / median(o)).toFixed(2)} |`);
});
