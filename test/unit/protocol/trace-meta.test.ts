// stampMeta: W3C trace context into a JSON-RPC message's params._meta by a text edit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stampMeta } from '../../../src/protocol/trace-meta.js';

const TP: ReadonlyArray<readonly [string, string]> = [['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']];
const tp = TP[0]?.[1];

describe('stampMeta', () => {
  it('adds params and _meta where they are missing, keeping every other byte', () => {
    assert.equal(stampMeta('{"jsonrpc":"2.0","id":1,"method":"ping"}', TP), `{"params":{"_meta":{"traceparent":"${tp}"}},"jsonrpc":"2.0","id":1,"method":"ping"}`);
    assert.equal(stampMeta('{"jsonrpc":"2.0","method":"x","params":{}}', TP), `{"jsonrpc":"2.0","method":"x","params":{"_meta":{"traceparent":"${tp}"}}}`);
    const big = '{ "jsonrpc" : "2.0", "id" : 9, "method" : "tools/call", "params" : { "name" : "echo", "arguments" : { "n" : 12345678901234567890, "s" : "a\\"}" } } }';
    const out = stampMeta(big, TP);
    assert.equal(out, big.replace('"params" : { ', `"params" : {"_meta":{"traceparent":"${tp}"}, `));
    assert.ok(out?.includes('12345678901234567890'), 'a number past 2^53 is relayed as written');
  });

  it('sets the members in an existing _meta: replaces what is there, adds the rest, keeps the others', () => {
    const text = '{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"_meta":{"progressToken":7,"traceparent":"00-old-01","nested":{"traceparent":"x"}},"name":"t"}}';
    const out = stampMeta(text, [...TP, ['tracestate', 'k=v']]);
    assert.equal(out, `{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"_meta":{"tracestate":"k=v","progressToken":7,"traceparent":"${tp}","nested":{"traceparent":"x"}},"name":"t"}}`);
    const parsed: unknown = JSON.parse(out ?? '');
    assert.ok(typeof parsed === 'object' && parsed !== null);
  });

  it('finds names written with escapes, and leaves a message whose params or _meta is no object as it is', () => {
    assert.equal(
      stampMeta('{"jsonrpc":"2.0","method":"x","p\\u0061rams":{"\\u005fmeta":{}}}', TP),
      `{"jsonrpc":"2.0","method":"x","p\\u0061rams":{"\\u005fmeta":{"traceparent":"${tp}"}}}`,
    );
    assert.equal(stampMeta('{"jsonrpc":"2.0","method":"x","params":[1,2]}', TP), null);
    assert.equal(stampMeta('{"jsonrpc":"2.0","method":"x","params":{"_meta":"no"}}', TP), null);
    assert.equal(stampMeta('[]', TP), null);
  });
});
