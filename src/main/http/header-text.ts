// Header values between the two ways Node libraries hold them as strings: uWS reads and writes
// a header string as UTF-8, while node:http and undici read and write one as latin1 (a character
// per byte). A value crosses from one to the other as its bytes.

/** Any character outside ASCII (no /g flag: test() keeps no state). */
export const nonAscii = /[^\x00-\x7f]/;

/** A UTF-8-meant string as the latin1 string of its bytes (what node:http or undici sends
 * byte for byte). ASCII passes as it is, after one regex test. */
export function latin1OfUtf8(value: string): string {
  return nonAscii.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

/** A latin1 string of bytes (as node:http reads a header) as the UTF-8 string uWS would give. */
export function utf8OfLatin1(value: string): string {
  return nonAscii.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
}
