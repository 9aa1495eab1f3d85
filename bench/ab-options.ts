// ab.js's command line: the two checkouts, the scenario and the method's settings (ab.ts).

import { resolve } from 'node:path';
import type { KeyAlg } from '../src/main/cli/keys.js';
import { type PipeliningPolicy, UPSTREAM_CLIENTS, type UpstreamClient } from '../src/main/config/types.js';
import { S, type Scenario } from './scenarios.js';

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  call: S.call,
  call4k: S.call4k,
  fresh: S.fresh,
  callsse: S.callSse,
  list20: S.list20,
  list20sse: S.list20Sse,
  list200: S.list200,
};

export interface AbOptions {
  a: string;
  b: string;
  scenario: string;
  rules: number;
  workers: number;
  rounds: number;
  seconds: number;
  warmup: number;
  /** the tokens' signing algorithm */
  alg: KeyAlg;
  /** flags for node in front of each gateway (e.g. V8 heap sizes), split on spaces */
  aNode: string[];
  bNode: string[];
  /** `config.upstreamClient` of each side's gateway (null: the checkout's default) */
  aClient: UpstreamClient | null;
  bClient: UpstreamClient | null;
  /** the stub target's `http.pipelining` on each side (null: none) */
  aPipelining: PipeliningPolicy | null;
  bPipelining: PipeliningPolicy | null;
  pin: string | null;
  maxOtherCores: number;
  /** offered req/s of the paced generator; null: wrk */
  paced: number | null;
  out: string | null;
}

function upstreamClient(value: string): UpstreamClient {
  const client = UPSTREAM_CLIENTS.find((c) => c === value);
  if (client === undefined) throw new Error(`--a/--b-upstream-client: expected one of ${UPSTREAM_CLIENTS.join(', ')}, got ${value}`);
  return client;
}

/** `<connections>x<depth>`, e.g. 2x32 (also run.js's --pipelining). */
export function pipeliningShape(value: string, flag = '--a/--b-pipelining'): PipeliningPolicy {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (m === null) throw new Error(`${flag}: expected <connections>x<depth> (e.g. 2x32), got ${value}`);
  return { connections: Number(m[1]), depth: Number(m[2]) };
}

/** ab.js's command line (see ab.ts); throws on a bad or missing argument. */
export function parseAbArgs(argv: readonly string[]): AbOptions {
  const o: AbOptions = { a: '', b: '', scenario: 'call', rules: 1, workers: 0, rounds: 6, seconds: 5, warmup: 2, alg: 'RS256', aNode: [], bNode: [], aClient: null, bClient: null, aPipelining: null, bPipelining: null, pin: '0,1', maxOtherCores: 0.2, paced: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--no-pin') {
      o.pin = null;
      continue;
    }
    const value = argv[++i] ?? '';
    if (flag === '--a') o.a = resolve(value);
    else if (flag === '--b') o.b = resolve(value);
    else if (flag === '--scenario' && SCENARIOS[value] !== undefined) o.scenario = value;
    else if (flag === '--rules') o.rules = Number(value);
    else if (flag === '--workers') o.workers = Number(value);
    else if (flag === '--rounds') o.rounds = Number(value);
    else if (flag === '--seconds') o.seconds = Number(value);
    else if (flag === '--warmup') o.warmup = Number(value);
    else if (flag === '--a-node') o.aNode = value.split(' ').filter((f) => f !== '');
    else if (flag === '--b-node') o.bNode = value.split(' ').filter((f) => f !== '');
    else if (flag === '--a-upstream-client') o.aClient = upstreamClient(value);
    else if (flag === '--b-upstream-client') o.bClient = upstreamClient(value);
    else if (flag === '--a-pipelining') o.aPipelining = pipeliningShape(value);
    else if (flag === '--b-pipelining') o.bPipelining = pipeliningShape(value);
    else if (flag === '--alg' && (value === 'RS256' || value === 'ES256' || value === 'EdDSA')) o.alg = value;
    else if (flag === '--pin') o.pin = value;
    else if (flag === '--max-other') o.maxOtherCores = Number(value);
    else if (flag === '--paced') o.paced = Number(value);
    else if (flag === '--out') o.out = resolve(value);
    else throw new Error(`unknown or bad argument ${flag ?? ''} ${value}`);
  }
  if (o.a === '' || o.b === '') throw new Error('--a <checkout> and --b <checkout> are required');
  if (!(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 60)) throw new Error('--rounds must be 1..60');
  if (!(o.seconds >= 1 && o.seconds <= 30)) throw new Error('--seconds must be 1..30');
  if (o.paced !== null && !(o.paced >= 100 && o.paced <= 1_000_000)) throw new Error('--paced must be 100..1000000 req/s');
  return o;
}
