// sonic-boom built with `contentMode: 'buffer'` writes Buffers (its writeBuffer); its types only
// declare the string write of the default mode. The logger's stdout is built that way.
import 'sonic-boom';

declare module 'sonic-boom' {
  interface SonicBoom {
    write(chunk: Buffer): boolean;
  }
}
