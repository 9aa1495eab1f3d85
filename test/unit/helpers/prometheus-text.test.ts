// The strict text-format parser the metrics tests read /metrics with: it must refuse what
// Prometheus refuses, or the tests would pass on an exposition a scrape rejects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExposition, sampleValue } from '../../helpers/prometheus-text.js';

const good = [
  '# HELP a_total A counter\\nwith a second line',
  '# TYPE a_total counter',
  'a_total{route="r",v="q\\"\\\\\\n"} 3',
  '',
  '# TYPE h_seconds histogram',
  'h_seconds_bucket{le="0.1"} 1',
  'h_seconds_bucket{le="+Inf"} 2',
  'h_seconds_sum 0.7',
  'h_seconds_count 2',
  '# a comment',
  'g{x="1",} NaN 1700000000000',
  'i -Inf',
  '',
].join('\n');

describe('Prometheus text parser', () => {
  it('reads a well-formed exposition', () => {
    const f = parseExposition(good);
    assert.deepEqual([...f.keys()], ['a_total', 'h_seconds', 'g', 'i']);
    assert.equal(f.get('a_total')?.help, 'A counter\nwith a second line');
    assert.equal(f.get('a_total')?.samples[0]?.labels.get('v'), 'q"\\\n');
    assert.equal(sampleValue(f, 'h_seconds_count'), 2);
    assert.ok(Number.isNaN(sampleValue(f, 'g')));
    assert.equal(f.get('g')?.type, 'untyped');
  });

  const bad: ReadonlyArray<readonly [string, string]> = [
    ['no final newline', 'a 1'],
    ['bad metric name', '1a 1\n'],
    ['bad label name', 'a{1x="v"} 1\n'],
    ['unquoted label value', 'a{x=v} 1\n'],
    ['bad escape in a label', 'a{x="\\t"} 1\n'],
    ['unterminated label value', 'a{x="v} 1\n'],
    ['a label twice', 'a{x="1",x="2"} 1\n'],
    ['not a number', 'a one\n'],
    ['no value', 'a{x="1"}\n'],
    ['text after the timestamp', 'a 1 2 3\n'],
    ['a series twice', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['a family split in two', 'a 1\nb 1\na{x="2"} 1\n'],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['unknown type', '# TYPE a meter\na 1\n'],
    ['negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf bucket is not _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ['buckets not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['histogram without _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n'],
  ];
  for (const [what, text] of bad) {
    it(`refuses: ${what}`, () => assert.throws(() => parseExposition(text)));
  }
});
