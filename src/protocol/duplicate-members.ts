// JSON.parse keeps the last of two members with the same name; another parser (an upstream, a
// log pipeline, an auditor's tool) may keep the first. A token whose header or claims say two
// things at once is refused instead (RFC 7515 §4: header parameter names must be unique).

/** The first name that occurs twice in one object of valid JSON text, or null. */
export function firstDuplicateMember(text: string): string | null {
  // One entry per open container: the names seen so far (objects) or null (arrays).
  const stack: Array<Set<string> | null> = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      const names = stack[stack.length - 1];
      if (expectName && names !== undefined && names !== null) {
        const raw = text.slice(i, j + 1);
        // Escapes (`"k\u0069d"`) must compare decoded.
        const decoded: unknown = escaped ? JSON.parse(raw) : raw.slice(1, -1);
        const name = typeof decoded === 'string' ? decoded : raw;
        if (names.has(name)) return name;
        names.add(name);
        expectName = false;
      }
      i = j;
    } else if (c === 0x7b) {
      stack.push(new Set());
      expectName = true;
    } else if (c === 0x5b) {
      stack.push(null);
      expectName = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectName = false;
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      expectName = top !== undefined && top !== null;
    }
  }
  return null;
}
