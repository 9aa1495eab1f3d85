// The bench's command line (bench/README.md has the method and what each row means).
//
//   npm run bench                               the pinned report: gateway vs HAProxy-jwt, ≈ 9 min
//   node dist/bench/run.js --quick              the same in 2 rounds of 1 s: a smoke test, ≈ 1.5 min
//   node dist/bench/run.js --head-to-head [N]   one core only, no floor relays, N rounds (default 6)
//   node dist/bench/run.js --rows               the catalogue of scenarios, one pass each, ≈ 5 min
//   node dist/bench/run.js --profile            CPU profiles of the gateway under load
//
// Options: --rounds N (6), --seconds S (5; rows: 2), --warmup S (2), --only <regex> (report: the
// parts call|fresh|list|p99|processes; rows: '<target> <scenario>'), --workers N (the report's
// gateway, 0), --rate R (the equal-load runs' req/s), --max-other C (0.2 cores), --pin P,L (0,1)
// or --no-pin, --pipelining CxD (the report's or the profiled gateways' target with http.pipelining,
// C connections × D in flight; its result named -pipelined-CxD), --tokens N, --attempts N and --soak S and
// --no-reference (rows).
//
// Every process started here is stopped at the end, on Ctrl+C and on errors.

import type { PipeliningPolicy } from '../src/main/config/types.js';
import { pipeliningShape } from './ab-options.js';
import { parseCpuPlan, type CpuPlan } from './pin.js';
import { installCleanup } from './processes.js';
import { profileRun } from './profile-run.js';
import { pinnedReport } from './report.js';
import { rowsCatalogue } from './rows.js';
import { defaultTokenCount, log, tokenCacheSize } from './setup.js';

type Mode = 'report' | 'rows' | 'profile';

interface Options {
  mode: Mode;
  rounds: number;
  seconds: number | null;
  warmup: number;
  attempts: number;
  soakSeconds: number;
  tokens: number;
  only: RegExp | null;
  reference: boolean;
  workers: number;
  rate: number | null;
  maxOtherCores: number;
  pin: string | null;
  noRelays: boolean;
  quick: boolean;
  pipelining: PipeliningPolicy | null;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { mode: 'report', rounds: 6, seconds: null, warmup: 2, attempts: 2, soakSeconds: 10, tokens: 0, only: null, reference: true, workers: 0, rate: null, maxOtherCores: 0.2, pin: '0,1', noRelays: false, quick: false, pipelining: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a ?? ''} needs a value`);
      return v;
    };
    if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--seconds') o.seconds = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--attempts') o.attempts = Number(next());
    else if (a === '--soak') o.soakSeconds = Number(next());
    else if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = new RegExp(next());
    else if (a === '--no-reference') o.reference = false;
    else if (a === '--tokens') o.tokens = Number(next());
    else if (a === '--workers') o.workers = Number(next());
    else if (a === '--rate') o.rate = Number(next());
    else if (a === '--max-other') o.maxOtherCores = Number(next());
    else if (a === '--pin') o.pin = next();
    else if (a === '--no-pin') o.pin = null;
    else if (a === '--pipelining') o.pipelining = pipeliningShape(next(), '--pipelining');
    else if (a === '--rows') o.mode = 'rows';
    else if (a === '--profile') o.mode = 'profile';
    else if (a === '--head-to-head') {
      // one core, gateway against HAProxy only; an optional number of rounds follows
      o.only = /^(call|fresh|list|p99)$/;
      o.noRelays = true;
      if (/^\d+$/.test(argv[i + 1] ?? '')) o.rounds = Number(next());
    } else throw new Error(`unknown argument ${a ?? ''}`);
  }
  if (o.quick) Object.assign(o, { rounds: Math.min(o.rounds, 2), seconds: 1, warmup: 1, attempts: 1, soakSeconds: 3 });
  const seconds = o.seconds ?? (o.mode === 'rows' ? 2 : 5);
  if (!(seconds >= 1 && seconds <= 30)) throw new Error('--seconds must be 1..30');
  if (!(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 60)) throw new Error('--rounds must be 1..60');
  if (!(o.warmup >= 0 && o.warmup <= 30)) throw new Error('--warmup must be 0..30 seconds');
  if (!(o.soakSeconds >= 1 && o.soakSeconds <= 600)) throw new Error('--soak must be 1..600 seconds');
  if (!(Number.isInteger(o.attempts) && o.attempts >= 1 && o.attempts <= 5)) throw new Error('--attempts must be 1..5');
  if (!(Number.isInteger(o.workers) && o.workers >= 0 && o.workers <= 8)) throw new Error('--workers must be 0..8');
  if (o.rate !== null && !(o.rate >= 100 && o.rate <= 1_000_000)) throw new Error('--rate must be 100..1000000 req/s');
  if (!(o.maxOtherCores >= 0)) throw new Error('--max-other must be ≥ 0 cores');
  if (o.tokens === 0) o.tokens = defaultTokenCount();
  if (!(o.tokens >= 1000 && o.tokens <= 100_000)) throw new Error('--tokens must be 1000..100000');
  o.seconds = seconds;
  return o;
}

installCleanup((signal) => log(`${signal}: stopping everything`));
const o = parseOptions(process.argv.slice(2));
const cpus: CpuPlan | null = o.pin === null ? null : parseCpuPlan(o.pin);
const seconds = o.seconds ?? 5;
const cacheSize = tokenCacheSize();
if (cacheSize !== null && cacheSize * 1.1 > o.tokens) log(`WARNING: ${o.tokens} tokens vs a ${cacheSize}-entry token cache: fresh-token runs may hit`);
if (o.mode === 'profile') await profileRun({ seconds, warmup: o.warmup, tokens: o.tokens, only: o.only, cpus, pipelining: o.pipelining });
else if (o.mode === 'rows') await rowsCatalogue({ seconds, attempts: o.attempts, warmup: o.warmup, soakSeconds: o.soakSeconds, tokens: o.tokens, only: o.only, reference: o.reference, cpus });
else await pinnedReport({ rounds: o.rounds, seconds, warmup: o.warmup, maxOtherCores: o.maxOtherCores, cpus, workers: o.workers, only: o.only, noRelays: o.noRelays, tokens: o.tokens, rate: o.rate, pipelining: o.pipelining });
process.exit(0);
