import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEventStreamType, namesEventStream } from '../../../src/protocol/media-type.js';

/** Event streams under RFC 9110's media-type syntax: type and subtype in any case, OWS around,
 * any well-formed parameters. */
const streams = [
  'text/event-stream',
  'Text/Event-Stream',
  'TEXT/EVENT-STREAM',
  ' text/event-stream',
  '\ttext/event-stream \t',
  'text/event-stream; charset=utf-8',
  'text/event-stream;charset=UTF-8',
  'text/event-stream ; charset="utf-8"',
  'text/event-stream;',
  'text/event-stream; ;charset=utf-8',
  'text/event-stream; x="a, b; c=\\"d\\""',
];

/** Not one event-stream media type: another type, the type only inside a parameter or as part
 * of a longer subtype, a list, or no media type at all. */
const notStreams = [
  '',
  'application/json',
  'application/json; charset=utf-8',
  'text/event-streamx',
  'text/event-stream-x',
  'text/event-streams; charset=utf-8',
  'xtext/event-stream',
  'application/json; x=text/event-stream',
  'application/json; x="text/event-stream"',
  'text/plain',
  'text/event-stream x',
  'text / event-stream',
  'text/event-stream; charset',
  'text/event-stream; charset=',
  'text/event-stream; x="open',
  'text/event-stream; x="a\u0001"',
  'text/event-stream\u00a0',
  'text/event-stream, application/json',
];

test('isEventStreamType: text/event-stream in any case, with OWS and parameters, is one', () => {
  for (const v of streams) assert.equal(isEventStreamType(v), true, JSON.stringify(v));
});

test('isEventStreamType: anything else is not, whatever it mentions', () => {
  for (const v of notStreams) assert.equal(isEventStreamType(v), false, JSON.stringify(v));
});

test('namesEventStream: a list member that is text/event-stream makes the value name a stream', () => {
  for (const v of streams) assert.equal(namesEventStream(v), true, JSON.stringify(v));
  // several fields joined as one list (RFC 9110 §5.3), in either order, empty members allowed
  for (const v of ['application/json, text/event-stream', 'text/event-stream, application/json', 'application/json,Text/Event-Stream;charset=utf-8', ', text/event-stream ,']) {
    assert.equal(namesEventStream(v), true, JSON.stringify(v));
  }
});

test('namesEventStream: a comma inside a quoted parameter separates nothing; a malformed list names none', () => {
  for (const v of [
    'application/json; x="a, text/event-stream"',
    'application/json, text/event-streamx',
    'application/json; x=text/event-stream',
    'text/event-streamx',
    'garbage, text/event-stream',
    'text/event-stream, garbage',
    '',
    ' , ',
  ]) {
    assert.equal(namesEventStream(v), false, JSON.stringify(v));
  }
});
