// `config.logging.level`, as agentgateway reads it (tracing's directives): a default level and
// levels per scope, `info` or `warn,request=off`. A scope's level is the most specific directive
// naming it or a scope it is under (`proxy` covers `proxy::gateway`). The access log is scope
// `request` at info, so `request=off` turns it off.

export type LineLevel = 'info' | 'warn' | 'error';

const rank: ReadonlyMap<string, number> = new Map([
  ['trace', 0],
  ['debug', 1],
  ['info', 2],
  ['warn', 3],
  ['error', 4],
  ['off', 5],
]);

/** Whether a line of `scope` at `level` is written. Directives were checked at load. */
export function levelFilter(directives: readonly string[]): (scope: string, level: LineLevel) => boolean {
  let fallback = rank.get('info') ?? 2;
  const scoped = new Map<string, number>();
  for (const d of directives) {
    const eq = d.lastIndexOf('=');
    const level = rank.get(d.slice(eq + 1).toLowerCase());
    if (level === undefined) continue;
    if (eq < 0) fallback = level;
    else scoped.set(d.slice(0, eq), level);
  }
  const cache = new Map<string, number>();
  const threshold = (scope: string): number => {
    let t = cache.get(scope);
    if (t === undefined) {
      let best = -1;
      t = fallback;
      for (const [target, level] of scoped) {
        if ((scope === target || scope.startsWith(`${target}::`)) && target.length > best) {
          best = target.length;
          t = level;
        }
      }
      cache.set(scope, t);
    }
    return t;
  };
  return (scope, level) => (rank.get(level) ?? 2) >= threshold(scope);
}
