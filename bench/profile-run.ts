// `--profile`: CPU profiles of the gateway under load (node --cpu-prof), pinned like the report's
// one-core groups, summarised by profile-summary.ts over the samples taken under load:
// bench/results/<date>-<commit>-profile.md.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipeliningPolicy } from '../src/main/config/types.js';
import type { CpuPlan } from './pin.js';
import { stopProcess } from './processes.js';
import { formatSummary, parseProfile, summarize } from './profile-summary.js';
import { cpuUsPerReq } from './measure.js';
import { measureTarget } from './rounds.js';
import { CONNECTIONS, S, type Scenario } from './scenarios.js';
import { RESULTS, commitInfo, fmt, setup } from './setup.js';
import { startGateways, startStub, stopGateways, type GatewaySpec } from './targets.js';

export interface ProfileOptions {
  readonly seconds: number;
  readonly warmup: number;
  readonly tokens: number;
  readonly only: RegExp | null;
  readonly cpus: CpuPlan | null;
  /** the gateway's stub target with `http.pipelining` (null: the default, not pipelined) */
  readonly pipelining: PipeliningPolicy | null;
}

export interface ProfileCase {
  readonly label: string;
  readonly s: Scenario;
  readonly spec: GatewaySpec;
}

/** The profiled gateways, each with the stub target pipelined when asked for. */
export function profileCases(pipelining: PipeliningPolicy | null): readonly ProfileCase[] {
  const target = pipelining === null ? {} : { pipelining };
  const cases: ReadonlyArray<{ label: string; workers: number; rules: number; s: Scenario }> = [
    { label: 'inline-call', workers: 0, rules: 0, s: S.call },
    { label: 'inline-call-rule', workers: 0, rules: 1, s: S.call },
    { label: 'inline-fresh-rule', workers: 0, rules: 1, s: S.fresh },
    { label: 'inline-list20-rule', workers: 0, rules: 1, s: S.list20 },
    { label: 'pool-call', workers: 1, rules: 0, s: S.call },
    { label: 'pool-list20-rule', workers: 1, rules: 1, s: S.list20 },
  ];
  return cases.map((c) => ({ label: c.label, s: c.s, spec: { label: c.label, workers: c.workers, rules: c.rules, processes: 1, ...target } }));
}

/** The result file's name: a pipelined profile is never taken for the default path's. */
export function profileFileName(date: string, commit: { readonly short: string; readonly dirty: boolean }, pipelining: PipeliningPolicy | null): string {
  const pipelined = pipelining === null ? '' : `-pipelined-${pipelining.connections}x${pipelining.depth}`;
  return `${date}-${commit.short}${commit.dirty ? '-dirty' : ''}${pipelined}-profile.md`;
}

export async function profileRun(o: ProfileOptions): Promise<void> {
  const env = await setup({ tokenCount: o.tokens, cpus: o.cpus });
  const stub = await startStub(o.cpus?.load ?? null);
  env.stubPort = stub.port;
  env.stubPid = stub.p.pid;
  const commit = commitInfo();
  const out: string[] = [`# CPU profiles of the gateway, commit ${commit.short}${commit.dirty ? ' + uncommitted changes' : ''}`, ''];
  if (o.pipelining !== null) out.push(`The stub target with \`http.pipelining\` ${o.pipelining.connections} connections × ${o.pipelining.depth}.`, '');
  if (o.cpus !== null) out.push(`Pinned: the gateway (every thread) on CPU ${o.cpus.proxy}, wrk (one thread) and the stub on CPU ${o.cpus.load}.`, '');
  const cases = profileCases(o.pipelining);
  const settings = { rounds: 1, extraRounds: 0, seconds: o.seconds, warmupSeconds: o.warmup, maxOtherCores: Infinity, connections: CONNECTIONS, loadCpu: o.cpus?.load ?? null };
  try {
    for (const c of cases) {
      if (o.only !== null && !o.only.test(c.label)) continue;
      const profDir = join(env.dir, `prof-${c.label}`);
      mkdirSync(profDir);
      const gw = await startGateways(env, c.spec, o.cpus?.proxy ?? null, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=200']);
      const t = { name: c.label, url: `http://127.0.0.1:${gw.port}/mcp`, pids: gw.pids, rules: c.spec.rules };
      let rps = 0;
      let cpuUs = 0;
      let window: readonly [number, number] | undefined;
      try {
        await measureTarget(env, c.s, t, o.warmup, settings, `profile-${c.label}-warm`);
        const m = await measureTarget(env, c.s, t, Math.max(o.seconds, 5), settings, `profile-${c.label}`);
        rps = m.load.rps;
        cpuUs = cpuUsPerReq(m);
        window = m.windowUs;
      } finally {
        await stopGateways(gw);
      }
      out.push(`## ${c.label}: ${c.s.id}, ${c.spec.workers === 0 ? 'inline' : `pool ${c.spec.workers}`}, ${c.spec.rules === 0 ? 'jwt only' : `jwt + ${c.spec.rules} rule`} — ${fmt(rps)} req/s, ${cpuUs.toFixed(1)} µs/req (profiler on)`, '');
      const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort();
      if (files.length === 0) out.push('(no profile written)', '');
      for (const f of files) out.push(formatSummary(summarize(parseProfile(readFileSync(join(profDir, f), 'utf8')), `${c.label}/${f}`, window), 25));
    }
  } finally {
    await stopProcess(stub.p);
  }
  const text = out.join('\n');
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, profileFileName(date, commit, o.pipelining));
  writeFileSync(file, text);
  rmSync(env.dir, { recursive: true, force: true });
  process.stdout.write(`${text}\nwritten: ${file}\n`);
}
