// Syntax checks for the HTTP names a config may hold, done at load (agentgateway parses header
// names and methods when the config loads, so a bad one is a config error, not a run-time surprise).

/** RFC 9110 `token`: header names and methods. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isHttpToken(s: string): boolean {
  return TOKEN.test(s);
}

/** `scheme://host[:port]`, nothing after: the form a browser sends in `Origin`. */
const ORIGIN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:[\]]+)(:\d{1,5})?$/;

export function isOrigin(s: string): boolean {
  return ORIGIN.test(s);
}

export function isHttpUrl(s: string): boolean {
  if (!URL.canParse(s)) return false;
  const { protocol } = new URL(s);
  return protocol === 'http:' || protocol === 'https:';
}

/** A user name or password in an http(s) URL: undici sends neither (nor does agentgateway's
 * client), so a config holding one would carry a credential that is never used. */
export function hasUserinfo(s: string): boolean {
  if (!URL.canParse(s)) return false;
  const { username, password } = new URL(s);
  return username !== '' || password !== '';
}
