// The access line: byte for byte agentgateway's when config.logging changes nothing, fields
// removed and appended as configured; CEL values as log values; level directives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessRecord } from '../../../src/main/log/access-record.js';
import { compileAccessPolicy, loggable } from '../../../src/main/log/access-policy.js';
import { levelFilter } from '../../../src/main/log/levels.js';
import { bytesOf, createLogger, timestamp } from '../../../src/main/log/logger.js';

function labRecord(): AccessRecord {
  const r = new AccessRecord({ method: 'POST', path: '/mcp', query: '', host: 'localhost', headers: [], remoteAddress: '127.0.0.1', startedAt: performance.now() });
  Object.assign(r, {
    gateway: 'bind/9000', listener: 'listener0', routeRule: 'route0/default', route: 'route0', srcAddr: '127.0.0.1',
    method: 'POST', host: 'localhost', path: '/mcp', status: 401, error: 'authentication failure: no bearer token found',
  });
  return r;
}

const lab = ' gateway=bind/9000 listener=listener0 route_rule=route0/default route=route0 src.addr=127.0.0.1 http.method=POST http.host=localhost http.path=/mcp http.version=HTTP/1.1 http.status=401 protocol=http error="authentication failure: no bearer token found" duration=0ms';

describe('access line', () => {
  it("is the lab's line without config.logging, and with one that changes nothing", () => {
    assert.equal(labRecord().text().replace(/ duration=\d+ms$/, ' duration=0ms'), lab);
    assert.equal(compileAccessPolicy({ filter: null, add: [], remove: [], level: ['info'] }, () => undefined), null);
  });

  it('leaves removed fields out and appends added ones, an added field replacing a default one', () => {
    const policy = compileAccessPolicy(
      { filter: null, add: [{ name: 'http.status', expr: 'string(response.code)' }, { name: 'who', expr: 'jwt.sub' }, { name: 'm', expr: '{"a": [1, 2]}' }], remove: ['src.addr', 'duration', 'error'], level: [] },
      () => undefined,
    );
    const r = labRecord();
    r.setClaims({ sub: 'ann smith' });
    const edit = policy?.edit(r.celInput()) ?? undefined;
    assert.equal(
      r.text(edit ?? undefined),
      ' gateway=bind/9000 listener=listener0 route_rule=route0/default route=route0 http.method=POST http.host=localhost http.path=/mcp http.version=HTTP/1.1 jwt.sub="ann smith" protocol=http http.status=401 who="ann smith" m="{\\"a\\":[1,2]}"',
    );
    assert.deepEqual(Object.keys(r.object(edit ?? undefined)).slice(-3), ['http.status', 'who', 'm']);
  });

  it('shows each line its own fields when the line before shared some of them, and with or without config.logging', () => {
    const policy = compileAccessPolicy({ filter: null, add: [], remove: ['listener'], level: [] }, () => undefined);
    const edit = policy?.edit(labRecord().celInput()) ?? undefined;
    const line = (r: AccessRecord): string => r.text().replace(/ duration=\d+ms$/, '');
    const edited = (r: AccessRecord): string => r.text(edit).replace(/ duration=\d+ms$/, '');
    assert.match(line(labRecord()), / listener=listener0 /);
    assert.doesNotMatch(edited(labRecord()), /listener=/);
    const changes: ReadonlyArray<[keyof AccessRecord & string, string, RegExp]> = [
      ['gateway', 'bind/9001', / gateway=bind\/9001 /],
      ['listener', 'listener1', / listener=listener1 /],
      ['routeRule', 'route1/default', / route_rule=route1\/default /],
      ['route', 'route1', / route=route1 /],
      ['srcAddr', '::1', / src\.addr=\[::1\] /],
      ['method', 'GET', / http\.method=GET /],
      ['host', 'example.com', / http\.host=example\.com /],
      ['path', '/other', / http\.path=\/other /],
    ];
    for (const [name, value, shown] of changes) {
      const r = labRecord();
      Object.assign(r, { [name]: value });
      assert.match(line(r), shown, name);
      assert.equal(line(labRecord()), lab.replace(/ duration=0ms$/, ''), `${name} back`);
    }
    assert.doesNotMatch(edited(labRecord()), /listener=/);
    assert.match(line(labRecord()), / listener=listener0 /);
  });

  it('takes its duration and its time from when the response ended', () => {
    const r = labRecord();
    r.endedAt = r.startedAt + 1234.4;
    assert.match(r.text(), / duration=1234ms$/);
    const lines: string[] = [];
    createLogger('text', { write: (l) => lines.push(l) }).access(r);
    assert.equal(lines[0]?.split('\t')[0], timestamp(r.endedAt));
  });

  it('converts CEL values to log values', () => {
    assert.equal(loggable(12n), 12);
    assert.equal(loggable(2n ** 64n), '18446744073709551616');
    assert.equal(loggable(null), null);
    assert.equal(loggable(new Uint8Array([104, 105])), 'aGk=');
    assert.deepEqual(loggable(new Map<string, unknown>([['k', [1n, 'x']], ['__proto__', true]])), JSON.parse('{"k":[1,"x"],"__proto__":true}'));
    assert.equal(loggable(NaN), 'NaN');
  });
});

describe('log bytes', () => {
  it('are the UTF-8 of the text, ASCII or not', () => {
    for (const text of ['a=1 b="x"\n', 'caf\u00e9 \u00ff\n', 'snow \u2603 \u{1F600}\n', 'lone \ud800 end\n', '\u007f\u0080', ''])
      assert.deepEqual(bytesOf(text), Buffer.from(text, 'utf8'), JSON.stringify(text));
  });
});

describe('log levels', () => {
  it('a default level and per-scope ones, the most specific scope winning', () => {
    const enabled = levelFilter(['warn', 'request=info', 'proxy=error', 'proxy::gateway=info']);
    assert.equal(enabled('request', 'info'), true);
    assert.equal(enabled('state_manager', 'info'), false);
    assert.equal(enabled('state_manager', 'warn'), true);
    assert.equal(enabled('proxy::other', 'warn'), false);
    assert.equal(enabled('proxy::gateway', 'info'), true);
    assert.equal(enabled('proxyish', 'warn'), true);
    assert.equal(levelFilter([])('request', 'info'), true);
    assert.equal(levelFilter(['off'])('jwks', 'error'), false);
  });
});
