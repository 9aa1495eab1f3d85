// Whether JSON.parse accepts a text: the yardstick the filter's scanner is held to.
export function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
