/**
 * Debug output: the raw XML of a stream, both ways, with SASL payloads
 * redacted; printed for every stream when `XMPP_E2E_DEBUG` is set, or by
 * {@linkcode consoleTrace} when given as a stream's `trace`.
 *
 * @module
 */

import type { TraceEntry } from "./session.ts";

/** The environment variable that turns debug output on. */
export const DEBUG_ENV = "XMPP_E2E_DEBUG";

/** What replaces the content of a SASL element in debug output. */
export const REDACTED = "[redacted]";

// SASL elements whose content is a payload (RFC 6120 section 6.4): with
// PLAIN, `<auth>` carries the password itself.
const SASL_PAYLOAD =
  /^<(?:[^ \t\r\n<>\/!?:]+:)?(auth|response|challenge|success)(?=[ \t\r\n\/>])/;
// A tag cut by the end of an entry is held back at most this long.
const MAX_HELD = 4096;

/**
 * Redacts the content of SASL `<auth>`, `<response>`, `<challenge>` and
 * `<success>` elements from one direction of a trace, whatever the
 * entries' boundaries: a tag cut by the end of an entry is held until the
 * rest comes, so no part of a payload is ever shown. Elements of those
 * names in other namespaces are redacted too. Use one per direction of a
 * stream.
 *
 * @example Redacting a stream's outbound trace
 * ```ts
 * import { TraceRedactor, type TraceEntry } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const out = new TraceRedactor();
 * const entries: TraceEntry[] = [
 *   { direction: "out", text: "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHJvbWVvAHIwbTMwIQ==</auth>", tls: true },
 *   { direction: "out", text: "<message><body>hi</body></message>", tls: true },
 * ];
 * const shown = entries.map((entry) => out.redact(entry.text));
 * assert.ok(!shown.join("").includes("AHJvbWVv"));
 * assert.equal(shown[1], "<message><body>hi</body></message>");
 * ```
 */
export class TraceRedactor {
  #held = "";
  #inside = false; // in the content of a SASL element
  #marked = false; // its content was replaced already

  /**
   * The next entry's text, redacted; what may be the start of a tag at its
   * end is held for the next entry.
   *
   * @param text The entry's text.
   * @returns What can be shown now.
   *
   * @example Redacting a PLAIN password cut in two
   * ```ts
   * import { TraceRedactor } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const redactor = new TraceRedactor();
   * const shown = redactor.redact("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHJvbW") +
   *   redactor.redact("VvAHIwbTMwIQ==</auth>");
   * assert.equal(shown, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>[redacted]</auth>");
   * ```
   */
  redact(text: string): string {
    let input = this.#held + text;
    this.#held = "";
    let out = "";
    while (input.length > 0) {
      if (this.#inside) {
        const end = input.indexOf("</");
        const content = end < 0
          ? input.slice(0, input.endsWith("<") ? -1 : input.length)
          : input.slice(0, end);
        if (content.length > 0 && !this.#marked) {
          out += REDACTED;
          this.#marked = true;
        }
        if (end < 0) {
          if (input.endsWith("<")) this.#held = "<";
          return out;
        }
        this.#inside = false;
        input = input.slice(end);
        continue;
      }
      const lt = input.indexOf("<");
      if (lt < 0) return out + input;
      const gt = input.indexOf(">", lt);
      if (gt < 0) {
        if (input.length - lt > MAX_HELD) return out + input;
        this.#held = input.slice(lt);
        return out + input.slice(0, lt);
      }
      const tag = input.slice(lt, gt + 1);
      out += input.slice(0, gt + 1);
      input = input.slice(gt + 1);
      if (SASL_PAYLOAD.test(tag) && !tag.endsWith("/>")) {
        this.#inside = true;
        this.#marked = false;
      }
    }
    return out;
  }
}

/** What {@linkcode consoleTrace} shows of a stream, if given. */
export interface TraceStream {
  /** The stream id. */
  id?: string | undefined;
  /** The peer's address. */
  peerAddress?: string | undefined;
}

const redactors = new WeakMap<object, Record<"in" | "out", TraceRedactor>>();
const anonymous = { in: new TraceRedactor(), out: new TraceRedactor() };

/**
 * Prints a trace entry on standard error, SASL payloads redacted (see
 * {@linkcode TraceRedactor}), marked with its direction and `tls` when TLS
 * protected it. Give it as the `trace` option of `initiate()` or `listen()`:
 * each stream gets its own redaction state (kept with the stream's info
 * object, which is the same for all its entries).
 *
 * @param entry The trace entry.
 * @param stream The stream it belongs to (its peer address is shown).
 *
 * @example Tracing a stream
 * ```ts
 * import { consoleTrace, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
 *
 * const [a, b] = memoryPair();
 * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off", trace: consoleTrace }),
 *   juliet.negotiate(),
 * ]);
 * await romeo.close(); // prints both headers and both closes on stderr
 * ```
 */
export function consoleTrace(entry: TraceEntry, stream?: TraceStream): void {
  let pair = anonymous;
  if (stream !== undefined) {
    pair = redactors.get(stream) ?? {
      in: new TraceRedactor(),
      out: new TraceRedactor(),
    };
    redactors.set(stream, pair);
  }
  const text = pair[entry.direction].redact(entry.text);
  if (text === "") return;
  const who = stream?.peerAddress ?? stream?.id ?? "stream";
  console.error(traceLine(`xmpp-e2e ${who}`, entry, text));
}

/** One line of debug output. */
export function traceLine(
  label: string,
  entry: TraceEntry,
  text: string,
): string {
  const way = entry.direction === "in" ? "<- in " : "-> out";
  return `[${label}] ${way}${entry.tls ? " tls" : ""}: ${text}`;
}

let enabled: boolean | undefined;
let streams = 0;

/**
 * Whether `XMPP_E2E_DEBUG` asks for debug output: read once, at first use,
 * and only when the environment permission for it is granted already (the
 * permission is queried, never requested: no prompt, no error).
 *
 * @returns `true` when set to anything but empty, `0`, `false`, `no` or
 *   `off`.
 */
export function debugEnabled(): boolean {
  if (enabled !== undefined) return enabled;
  enabled = false;
  try {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    const status = deno?.permissions?.querySync?.({
      name: "env",
      variable: DEBUG_ENV,
    });
    if (status?.state !== "granted") return enabled;
    const value = deno?.env.get(DEBUG_ENV)?.trim().toLowerCase();
    enabled = value !== undefined &&
      !["", "0", "false", "no", "off"].includes(value);
  } catch {
    enabled = false;
  }
  return enabled;
}

/**
 * The debug printer of one stream, when debug output is on: numbers the
 * stream, and prints each entry with its role, redacted.
 *
 * @param role The stream's role.
 * @returns The printer, or `undefined` when debug output is off.
 */
export function debugPrinter(
  role: string,
): ((entry: TraceEntry) => void) | undefined {
  if (!debugEnabled()) return undefined;
  const label = `xmpp-e2e #${++streams} ${role}`;
  const pair = { in: new TraceRedactor(), out: new TraceRedactor() };
  return (entry) => {
    const text = pair[entry.direction].redact(entry.text);
    if (text !== "") console.error(traceLine(label, entry, text));
  };
}
