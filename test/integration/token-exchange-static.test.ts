// backendAuth key, passthrough and extra credentials: built from YAML through the loader,
// applied to a client's request with applyCredential, and sent to a recording upstream, which
// shows exactly what arrived: client copies of a header replaced, other cookies and query
// parameters kept byte for byte, the later insert winning at one place.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { applyCredential } from '../../src/main/upstream-auth/apply-credential.js';
import type { CallerIdentity } from '../../src/main/upstream-auth/credential.js';
import { anonymousCaller, credentialFor, expectGranted, sourceFromYaml, startUserIdp, verifiedCaller } from '../helpers/exchange-fixtures.js';
import { type RecordingUpstream, startRecordingUpstream } from '../helpers/recording-upstream.js';
import { type TempCwd, tempCwd } from '../unit/config/fixtures.js';

describe('static credentials and passthrough', () => {
  let upstream: RecordingUpstream;
  let cwd: TempCwd;
  before(async () => {
    upstream = await startRecordingUpstream();
    cwd = tempCwd();
    cwd.write('api-key', 'sk-from-file\n');
  });
  after(async () => {
    await upstream.close();
    cwd.remove();
  });

  /** Sends the client's request, credential applied, and returns what the upstream got. */
  const send = async (yaml: string, caller: CallerIdentity, pathAndQuery = '/mcp') => {
    const credential = expectGranted(await credentialFor(sourceFromYaml(yaml, {}, cwd.dir), caller));
    const applied = applyCredential({ headers: caller.headers, pathAndQuery }, credential);
    const base = new URL(upstream.url);
    const res = await request(`${base.origin}${applied.pathAndQuery}`, {
      method: 'POST',
      headers: [...applied.headers.flat(), 'content-type', 'application/json'],
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    await res.body.dump();
    const got = upstream.requests.at(-1);
    assert.ok(got !== undefined);
    return got;
  };

  it('a key from a file, and extra credentials in a header, the query and a cookie', async () => {
    const yaml = [
      'key: {value: {file: api-key}, location: {header: {name: x-api-key}}}',
      'credentials:',
      '- {location: {header: {name: authorization, prefix: "Bearer "}}, key: service-token}',
      '- {location: {queryParameter: {name: api_key}}, key: "q v&=1"}',
      '- {location: {cookie: {name: session}}, key: cookie-secret}',
    ].join('\n');
    const caller = anonymousCaller([
      ['x-api-key', 'client-sent-key'],
      ['x-api-key', 'another-copy'],
      ['authorization', 'Bearer client-token'],
      ['cookie', 'theme=dark; session=client-session'],
      ['cookie', 'lang=en'],
    ]);
    const got = await send(yaml, caller, '/mcp?x=%41b&api_key=client&y');
    assert.equal(got.headers['x-api-key'], 'sk-from-file');
    assert.equal(got.headers['authorization'], 'Bearer service-token');
    assert.equal(got.headers['cookie'], 'theme=dark; lang=en; session=cookie-secret');
    assert.equal(got.path, '/mcp?x=%41b&y&api_key=q%20v%26%3D1');
  });

  it('the shorthand key: Authorization: Bearer, the client\'s one replaced', async () => {
    const got = await send('key: sk-inline', anonymousCaller([['authorization', 'Bearer client-token']]));
    assert.equal(got.headers['authorization'], 'Bearer sk-inline');
  });

  it('a credential written after the kind wins at the same place', async () => {
    const got = await send('key: first\ncredentials: [{location: {header: {name: authorization}}, key: "Basic c2Vjb25k"}]', anonymousCaller([]));
    assert.equal(got.headers['authorization'], 'Basic c2Vjb25k');
  });

  it('passthrough: the verified token at its location; none verified, nothing added', async () => {
    const token = await (await startUserIdp()).token('alice');
    const verified = verifiedCaller(token, [['authorization', `Bearer ${token}`]]);
    assert.equal((await send('passthrough: {}', { ...verified, headers: [] })).headers['authorization'], `Bearer ${token}`);
    const moved = await send('passthrough: {location: {header: {name: x-user-token}}}', { ...verified, headers: [] });
    assert.deepEqual([moved.headers['x-user-token'], moved.headers['authorization']], [token, undefined]);
    const none = expectGranted(await credentialFor(sourceFromYaml('passthrough: {}'), anonymousCaller([])));
    assert.deepEqual([none.inserts, none.removes, none.outcome], [[], [], 'passthrough']);
  });

  it('credentials alone', async () => {
    const got = await send('credentials: [{location: {header: {name: x-tenant}}, key: acme}]', anonymousCaller([['x-tenant', 'spoofed']]));
    assert.equal(got.headers['x-tenant'], 'acme');
  });
});
