// Quoting attacker-controlled values (kid, iss) for log details: bounded and escaped, so a
// header cannot inject newlines or megabytes into the access log.
const MAX_QUOTED = 64;

export function quote(value: string): string {
  return JSON.stringify(value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value);
}
