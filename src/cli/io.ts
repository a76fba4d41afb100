/**
 * Terminal I/O of the `xmpp-e2e` command: lines from standard input,
 * lines to standard output, status to standard error.
 *
 * @module
 */

/** The longest line sent as one message, in UTF-8 bytes. */
export const MAX_LINE_BYTES = 65_536;

const encoder = new TextEncoder();

/** A line of input, or a line that was too long and was skipped. */
export type Line = { text: string } | { tooLong: number };

/**
 * Splits a byte stream into lines (`\n`, a `\r` before it dropped),
 * holding at most {@linkcode MAX_LINE_BYTES} of one line: a longer line is
 * reported by its size and skipped, not kept.
 *
 * @param input The bytes, such as `Deno.stdin.readable`.
 * @returns The lines; the last one may lack its `\n`.
 */
export async function* lines(
  input: ReadableStream<Uint8Array>,
): AsyncGenerator<Line> {
  const decoder = new TextDecoder();
  let pending: Uint8Array[] = [];
  let size = 0;
  let skipped = 0; // bytes of a line too long, while skipping it
  const take = (): Line => {
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const part of pending) {
      bytes.set(part, at);
      at += part.length;
    }
    pending = [];
    size = 0;
    const text = decoder.decode(bytes);
    return { text: text.endsWith("\r") ? text.slice(0, -1) : text };
  };
  for await (const chunk of input) {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(10, start);
      const stop = end === -1 ? chunk.length : end;
      const part = chunk.subarray(start, stop);
      if (skipped > 0 || size + part.length > MAX_LINE_BYTES) {
        skipped += size + part.length;
        pending = [];
        size = 0;
      } else if (part.length > 0) {
        pending.push(part.slice());
        size += part.length;
      }
      if (end === -1) break;
      if (skipped > 0) {
        yield { tooLong: skipped };
        skipped = 0;
      } else {
        yield take();
      }
      start = end + 1;
    }
  }
  if (skipped > 0) yield { tooLong: skipped };
  else if (size > 0) yield take();
}

/**
 * Makes text from a peer safe to print: C1 control characters (which some
 * terminals obey as commands) become U+FFFD, and so do the C0 ones other
 * than tab and line feed (XML 1.0 lets none of them through, but a stream
 * may be XML 1.1 one day); carriage returns go.
 *
 * @param text What the peer sent.
 * @returns The text to print.
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex -- control characters are the point
  const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
  return text.replace(/\r/g, "").replace(controls, "\ufffd");
}

/**
 * Writes a line to standard output, waiting until it is written.
 *
 * @param text The line, without its `\n`.
 */
export async function printLine(text: string): Promise<void> {
  const bytes = encoder.encode(`${text}\n`);
  let written = 0;
  while (written < bytes.length) {
    written += await Deno.stdout.write(bytes.subarray(written));
  }
}

/**
 * Tells a status line on standard error.
 *
 * @param text The line.
 */
export function status(text: string): void {
  console.error(text);
}
