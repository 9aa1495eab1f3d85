// Tracing config as agentgateway reads it: frontendPolicies.tracing, the deprecated config.tracing
// (its endpoint forms and the OTLP environment variables), both at once, and every error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../../src/main/config/load.js';
import type { TracingConfig } from '../../../src/main/config/types.js';
import { expectOk, lines } from './fixtures.js';

const load = (text: string, env: Readonly<Record<string, string>> = {}) => loadConfigText(text, { cwd: '/', env });

function frontend(tracingYaml: string): string {
  return `frontendPolicies:\n  tracing:\n${tracingYaml.trim().split('\n').map((l) => `    ${l}`).join('\n')}\n`;
}

function legacy(tracingYaml: string): string {
  return `config:\n  tracing:\n${tracingYaml.trim().split('\n').map((l) => `    ${l}`).join('\n')}\n`;
}

const DEFAULTS: TracingConfig = {
  endpoint: 'http://otel-collector:4317',
  protocol: 'grpc',
  path: '/v1/traces',
  headers: [],
  attributes: [],
  resources: [],
  remove: [],
  randomSampling: null,
  clientSampling: null,
  filter: null,
};

describe('frontendPolicies.tracing', () => {
  it('reads every key; defaults to gRPC, /v1/traces, no sampling override', () => {
    assert.deepEqual(expectOk(load(frontend('host: otel-collector:4317'))).tracing, DEFAULTS);
    const text = frontend(`
host: "[::1]:4318"
protocol: http
path: /otlp/v1/traces
randomSampling: 0.25
clientSampling: 'request.headers["x-sample"] == "1"'
attributes: {user: jwt.sub, span.name: '"custom"'}
resources: {service.name: '"gw-eu"'}
remove: [src.addr]
filter: mcp.method != "ping"`);
    assert.deepEqual(expectOk(load(text)).tracing, {
      endpoint: 'http://[::1]:4318',
      protocol: 'http',
      path: '/otlp/v1/traces',
      headers: [],
      attributes: [['user', 'jwt.sub'], ['span.name', '"custom"']],
      resources: [['service.name', '"gw-eu"']],
      remove: ['src.addr'],
      randomSampling: '0.25',
      clientSampling: 'request.headers["x-sample"] == "1"',
      filter: 'mcp.method != "ping"',
    });
    assert.equal(expectOk(load(frontend('host: c:1\nrandomSampling: true'))).tracing?.randomSampling, 'true');
    // Attributes and the filter read what access-log expressions do, the response included.
    assert.equal(expectOk(load(frontend('host: c:1\nfilter: response.code >= 500\nattributes: {status: response.code}'))).tracing?.filter, 'response.code >= 500');
  });

  it('reports bad values, unsupported keys and bad CEL with their paths', () => {
    assert.deepEqual(lines(load('frontendPolicies:\n  accessLog: {}\n  tracing: {service: {name: x, port: 1}}\n')), [
      'frontendPolicies.accessLog: not supported by Portcullis',
      'frontendPolicies.tracing.service: not supported by Portcullis',
    ]);
    assert.deepEqual(lines(load(frontend('host: http://c:4317'))), ['frontendPolicies.tracing.host: expected host:port (e.g. otel-collector:4317)']);
    assert.deepEqual(lines(load(frontend('host: c:4317\nprotocol: https\npath: v1\nrandomSampling: [1]\npolicies: {}\ncolour: red'))), [
      'frontendPolicies.tracing.protocol: expected one of grpc, http',
      'frontendPolicies.tracing.path: must start with /',
      'frontendPolicies.tracing.randomSampling: expected a CEL expression, true or false, or a probability from 0.0 to 1.0',
      'frontendPolicies.tracing.policies: not supported by Portcullis',
      'frontendPolicies.tracing.colour: unknown key',
    ]);
    assert.deepEqual(lines(load(frontend('host: c:1\nrandomSampling: \'"often"\'\nfilter: "1 + 1"\nattributes: {a: "nope(1)", b: 3}'))), [
      `frontendPolicies.tracing.randomSampling: the expression's value is of type string, never a bool or a number`,
      "frontendPolicies.tracing.filter: the expression's value is of type int, never a bool: the filter can never be true",
      'frontendPolicies.tracing.attributes.a: expression uses function "nope", which Portcullis does not provide',
      'frontendPolicies.tracing.attributes.b: expected a CEL expression (a string literal needs inner quotes: \'"on"\')',
    ]);
    assert.deepEqual(lines(load(frontend('protocol: http'))), ['frontendPolicies.tracing: required: one of host']);
  });

  it('cannot be set together with config.tracing', () => {
    assert.deepEqual(lines(load(`${frontend('host: c:1')}${legacy('otlpEndpoint: http://c:2')}`)), [
      'frontendPolicies.tracing: cannot be used together with the deprecated config.tracing (move config.tracing here)',
    ]);
  });
});

describe('config.tracing (deprecated)', () => {
  const endpointOf = (text: string, env: Readonly<Record<string, string>> = {}): Pick<TracingConfig, 'endpoint' | 'path' | 'protocol'> | undefined => {
    const t = expectOk(load(text, env)).runtime.tracing;
    return t === null ? undefined : { endpoint: t.endpoint, path: t.path, protocol: t.protocol };
  };

  it('otlpEndpoint: host:port, http, https (TLS), grpc (port 4317 by default); a URL path is the OTLP path', () => {
    assert.deepEqual(endpointOf(legacy('otlpEndpoint: collector:4317')), { endpoint: 'http://collector:4317', path: '/v1/traces', protocol: 'grpc' });
    assert.deepEqual(endpointOf(legacy('otlpEndpoint: grpc://collector')), { endpoint: 'http://collector:4317', path: '/v1/traces', protocol: 'grpc' });
    assert.deepEqual(endpointOf(legacy('otlpEndpoint: https://collector\notlpProtocol: http')), { endpoint: 'https://collector:443', path: '/v1/traces', protocol: 'http' });
    assert.deepEqual(endpointOf(legacy('otlpEndpoint: http://collector:4318/custom/traces\notlpProtocol: http\npath: /ignored')), {
      endpoint: 'http://collector:4318',
      path: '/custom/traces',
      protocol: 'http',
    });
  });

  it('fields, sampling and headers (secrets in config_dump) are read', () => {
    const t = expectOk(load(legacy('otlpEndpoint: c:1\nheaders: {Authorization: "Bearer k"}\nfields: {add: {user: jwt.sub}, remove: [jwt.sub]}\nrandomSampling: 1\nclientSampling: false'))).runtime.tracing;
    assert.deepEqual(t?.headers, [['authorization', { secret: 'Bearer k', file: null }]]);
    assert.deepEqual(t?.attributes, [['user', 'jwt.sub']]);
    assert.deepEqual(t?.remove, ['jwt.sub']);
    assert.equal(t?.randomSampling, '1');
    assert.equal(t?.clientSampling, 'false');
    assert.equal(expectOk(load('config: {}')).runtime.tracing, null);
  });

  it("agentgateway's environment variables win over the file: endpoint, protocol; headers are added", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env-collector:4318', OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_HEADERS: 'x-a=1, x-b = 2' };
    const t = expectOk(load(legacy('otlpEndpoint: file-collector:4317\nheaders: {x-c: "3"}'), env)).runtime.tracing;
    assert.equal(t?.endpoint, 'http://env-collector:4318');
    assert.equal(t?.protocol, 'http');
    assert.deepEqual(t?.headers.map(([k, v]) => [k, v.secret]), [['x-c', '3'], ['x-a', '1'], ['x-b', '2']]);
    assert.equal(expectOk(load(legacy('headers: {}'), { OTLP_ENDPOINT: 'c:9' })).runtime.tracing?.endpoint, 'http://c:9');
    assert.deepEqual(expectOk(load(legacy('otlpEndpoint: c:1'), { OTLP_HEADERS: '{"k":"v"}' })).runtime.tracing?.headers.map(([k, v]) => [k, v.secret]), [['k', 'v']]);
  });

  it('reports what is wrong, the environment included', () => {
    assert.deepEqual(lines(load(legacy('otlpProtocol: http'))), [
      'config.tracing.otlpEndpoint: required (or one of OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT in the environment)',
    ]);
    assert.deepEqual(lines(load(legacy('otlpEndpoint: ftp://c:1\nprotocol: http'))), [
      'config.tracing.otlpEndpoint: expected host:port or an http://, https:// (TLS) or grpc:// URL with a host',
      'config.tracing.protocol: unknown key',
    ]);
    assert.deepEqual(lines(load(legacy('otlpEndpoint: c:1'), { OTLP_PROTOCOL: 'http/json', OTLP_HEADERS: 'novalue' })), [
      'config.tracing.otlpProtocol: OTLP_PROTOCOL in the environment: expected grpc or http/protobuf (http/json is not supported)',
      'config.tracing.headers: OTLP_HEADERS in the environment: expected k=v,k2=v2 or a JSON object of strings',
    ]);
    assert.deepEqual(lines(load(legacy('otlpEndpoint: c:1'), { OTLP_ENDPOINT: 'http://u:p@c:1' })), [
      'config.tracing.otlpEndpoint (from the environment): expected host:port or an http://, https:// (TLS) or grpc:// URL with a host',
    ]);
  });
});
