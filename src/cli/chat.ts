/**
 * A chat over one stream: each line of standard input goes to the peer as
 * a message, each message from the peer is printed as a line. It ends when
 * input ends (the stream is then closed in order), when the peer closes,
 * or when interrupted.
 *
 * @module
 */

import {
  type E2EStream,
  type Element,
  message,
  StreamClosedError,
} from "../../mod.ts";
import { EXIT, outcomeOf } from "./exit.ts";
import { lines, MAX_LINE_BYTES, printable, printLine, status } from "./io.ts";

/** How a chat ended. */
type Ending = "input" | "peer" | "interrupt";

/**
 * Chats with the peer of a stream until one side ends it.
 *
 * @param stream The negotiated stream.
 * @param self Our address (the `from` of our messages).
 * @param peer The peer's address (the `to` of our messages).
 * @param interrupt Aborted to close the stream early (Ctrl-C).
 * @param input The lines to send, by default standard input.
 * @returns The exit code.
 */
export async function chat(
  stream: E2EStream,
  self: string,
  peer: string,
  interrupt: AbortSignal,
  input: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<number> {
  let printed = Promise.resolve();
  const subscription = stream.stanzas$.subscribe({
    next(stanza) {
      const text = received(stanza);
      if (text !== undefined) printed = printed.then(() => printLine(text));
    },
    error() {}, // the close result says why
  });
  const ending = await sendLines(stream, self, peer, interrupt, input);
  if (ending === "input") status("End of input: closing the stream");
  if (ending === "interrupt") status("Interrupted: closing the stream");
  const result = await stream.close();
  await printed;
  subscription.unsubscribe();
  if (ending === "peer" && result.clean) {
    status(`${peer} closed the stream`);
  }
  if (result.clean) {
    if (ending !== "peer") status("Closed in order");
    return ending === "interrupt" ? EXIT.interrupted : EXIT.ok;
  }
  const { message, code } = outcomeOf(result.error);
  status(`The stream did not close in order: ${message}`);
  return code === EXIT.ok ? EXIT.failed : code;
}

async function sendLines(
  stream: E2EStream,
  self: string,
  peer: string,
  interrupt: AbortSignal,
  input: ReadableStream<Uint8Array>,
): Promise<Ending> {
  const ended = stream.closed.then(() => "peer" as const);
  const stopped = new Promise<"interrupt">((resolve) => {
    if (interrupt.aborted) resolve("interrupt");
    interrupt.addEventListener("abort", () => resolve("interrupt"), {
      once: true,
    });
  });
  const source = lines(input);
  while (true) {
    const next = await Promise.race([source.next(), ended, stopped]);
    if (next === "peer" || next === "interrupt") return next;
    if (next.done) return "input";
    const line = next.value;
    if ("tooLong" in line) {
      status(
        `Not sent: a line of ${line.tooLong} bytes (at most ${MAX_LINE_BYTES})`,
      );
      continue;
    }
    if (line.text === "") continue;
    try {
      await stream.send(
        message({ from: self, to: peer, type: "chat", body: line.text }),
      );
    } catch (error) {
      if (error instanceof StreamClosedError) return "peer";
      if (!(error instanceof TypeError)) throw error;
      // serialize() refuses what XML cannot carry; the stream goes on.
      status(`Not sent: ${error.message}`);
    }
  }
}

/** The line to print for a stanza from the peer, if any. */
function received(stanza: Element): string | undefined {
  if (stanza.name !== "message") return undefined;
  if (stanza.attrs.type === "error") {
    const condition = stanza.getChild("error")?.elements()[0]?.name;
    status(`The peer answered a message with an error: ${condition ?? "?"}`);
    return undefined;
  }
  const body = stanza.getChildText("body");
  return body === undefined || body === null ? undefined : printable(body);
}
