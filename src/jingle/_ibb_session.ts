// One In-Band Bytestream session (XEP-0047) as a Transport: data packets
// out as iq sets, at most `window` of them unacknowledged; data packets in,
// checked for order and kept until read, with acknowledgements held back
// once more than `readBufferLimit` bytes wait to be read. A session the
// peer opened with stanza='message' carries data in messages both ways:
// nothing is acknowledged, writes wait for the carrying stream's writer,
// and a peer that sends past `readBufferLimit` unread bytes ends it.

import type { Element } from "../xml/element.ts";
import type { E2EStream } from "../endpoint/e2e_stream.ts";
import { StanzaError } from "../stanza/error.ts";
import type { IqAnswer } from "../stanza/iq_router.ts";
import { iq, iqResult, message } from "../stanza/stanza.ts";
import { xml } from "../stanza/xml.ts";
import { TimeoutError } from "../stream/errors.ts";
import { decodeBase64, encodeBase64 } from "../sasl/_base64.ts";
import { refuseTls } from "../transport/_no_tls.ts";
import {
  type TlsInfo,
  type Transport,
  TransportError,
} from "../transport/transport.ts";
import { IbbError, type IbbErrorReason } from "./ibb_error.ts";

/** The XEP-0047 namespace. */
export const IBB_NS = "http://jabber.org/protocol/ibb";

/**
 * For tests only: the first sequence number of new sessions, both ways
 * (XEP-0047 says 0), so that the wrap at 65535 is reached quickly.
 */
export const testing = { firstSeq: 0 };

/** An In-Band Bytestream session, as a transport. */
export interface IbbTransport extends Transport {
  /** The session id. */
  readonly sid: string;
  /** The largest data packet, in bytes (before base64). */
  readonly blockSize: number;
  /** Bytes received and not yet read. */
  readonly bufferedAmount: number;
  /** The stanzas that carry the data: `iq` (acknowledged) or `message`. */
  readonly stanza: "iq" | "message";
  /**
   * Resolves once the session is over on the wire: both closes exchanged,
   * or it failed and the peer was told. Never rejects.
   */
  readonly closed: Promise<void>;
}

/** What a session is made with. */
export interface SessionSettings {
  stream: E2EStream;
  sid: string;
  peer: string | undefined;
  blockSize: number;
  /** The stanzas that carry the data. */
  stanza: "iq" | "message";
  window: number;
  readBufferLimit: number;
  /** Acknowledgements held back now, by every session of the carrier. */
  held: { count: number };
  timeoutMs: number | undefined;
  /** Forgets the session: called once, when it is over on the wire. */
  release: () => void;
}

// Acknowledgements held back at most, per session and for all the sessions
// of one carrying stream: a peer that sends on past them, ignoring any
// window (XEP-0047 lets a sender not wait), gets its session ended with
// `overflow`, rather than keeping the carrying stream's iq handlers (64)
// busy until the whole client stream stops reading and is cut.
export const MAX_HELD_PER_SESSION = 16;
export const MAX_HELD = 32;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

const SEQ = /^(?:0|[1-9][0-9]{0,4})$/;

/** The reason an error answer or a failed request gives. */
export function ibbErrorOf(error: unknown, what: string): IbbError {
  if (error instanceof IbbError) return error;
  if (error instanceof StanzaError) {
    const reasons: Partial<Record<string, IbbErrorReason>> = {
      "not-acceptable": "declined",
      "resource-constraint": "block-size",
      "item-not-found": "unknown-session",
      "unexpected-request": "sequence",
      "bad-request": "bad-data",
    };
    return new IbbError(
      reasons[error.condition] ?? "rejected",
      `${what}: the peer answered ${error.condition}`,
      { cause: error },
    );
  }
  if (error instanceof TimeoutError) {
    return new IbbError("timeout", `${what}: the peer did not answer in time`, {
      cause: error,
    });
  }
  return new IbbError("stream-ended", `${what}: the stream carrying it ended`, {
    cause: error,
  });
}

/** One session, in either role, once open. */
export class IbbSession implements IbbTransport {
  readonly canStartTls = false;
  readonly remote = undefined;
  readonly tls: TlsInfo | undefined = undefined;
  readonly sid: string;
  readonly blockSize: number;
  readonly stanza: "iq" | "message";
  readonly closed: Promise<void>;
  readonly #settings: SessionSettings;
  #resolveClosed!: () => void;
  #inSeq = testing.firstSeq;
  #outSeq = testing.firstSeq;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #reader: Waiter<Uint8Array | null> | undefined;
  #held: (() => void)[] = []; // acknowledgements waiting for room
  #inflight = 0;
  #slot: Waiter<void> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #failure: IbbError | undefined;
  #localClosed = false; // close(): nothing more is read or written
  #closeSent: Promise<void> | undefined;
  #peerClosed = false;
  #ended = false; // over on the wire

  constructor(settings: SessionSettings) {
    this.#settings = settings;
    this.sid = settings.sid;
    this.blockSize = settings.blockSize;
    this.stanza = settings.stanza;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#reader !== undefined) {
      return Promise.reject(
        new TransportError("Cannot read: a read is already pending"),
      );
    }
    if (this.#localClosed) return Promise.resolve(null);
    const chunk = this.#take();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#peerClosed || this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.#reader = { resolve, reject });
  }

  write(bytes: Uint8Array): Promise<void> {
    const refused = this.#writeRefusal();
    if (refused !== undefined) return Promise.reject(refused);
    const run = this.#writing.then(() => this.#send(bytes.slice()));
    this.#writing = run.catch(() => {});
    return run;
  }

  startTls(): Promise<TlsInfo> {
    return refuseTls("An In-Band Bytestream");
  }

  /**
   * IBB has no half-close: this sends the session's close once what was
   * written went out. Data the peer sent before it saw the close is still
   * read; then reads return null.
   */
  async closeWrite(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#localClosed) return;
    await this.#writing;
    if (this.#peerClosed || this.#ended) return;
    await this.#sendClose();
  }

  close(): void {
    if (this.#localClosed) return;
    this.#localClosed = true;
    this.#chunks = [];
    this.#buffered = 0;
    this.#releaseHeld();
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(null);
    this.#rejectSlot(new TransportError("Cannot write: the bytestream closed"));
    if (this.#failure === undefined && !this.#peerClosed && !this.#ended) {
      void this.#sendClose();
    } else if (this.#closeSent === undefined) this.#end();
  }

  /** Answers an incoming data packet; the answer waits while reads lag. */
  receive(request: Element, data: Element): IqAnswer | Promise<IqAnswer> {
    if (this.#localClosed) return iqResult(request); // dropped: we closed
    if (this.#failure !== undefined) {
      // Over (its close is on the way): nothing more is taken, or held.
      return new StanzaError("item-not-found", {
        text: "The bytestream session ended",
      });
    }
    if (this.stanza !== "iq") {
      return this.#refuse(
        "bad-data",
        "bad-request",
        "Data of this session comes in messages",
      );
    }
    const wrong = this.#ingest(data);
    if (wrong !== undefined) {
      return this.#refuse(wrong.reason, wrong.condition, wrong.text);
    }
    const ack = iqResult(request);
    const settings = this.#settings;
    if (this.#buffered <= settings.readBufferLimit) return ack;
    if (
      this.#held.length >= MAX_HELD_PER_SESSION ||
      settings.held.count >= MAX_HELD
    ) {
      const text = `More than ${settings.readBufferLimit} bytes unread, ` +
        `and data kept coming past ${this.#held.length} held acknowledgements`;
      this.fail(new IbbError("overflow", text), true);
      return new StanzaError("resource-constraint", { type: "wait", text });
    }
    settings.held.count++;
    return new Promise((resolve) => this.#held.push(() => resolve(ack)));
  }

  /**
   * Takes a data packet that came in a message: with nothing to hold back,
   * a packet that is wrong, or past `readBufferLimit` unread bytes, ends
   * the session (and the peer is sent its close).
   */
  receiveMessage(data: Element): void {
    if (this.#localClosed || this.#failure !== undefined) return;
    if (this.stanza !== "message") {
      this.fail(
        new IbbError("bad-data", "Data of this session comes in iq stanzas"),
        true,
      );
      return;
    }
    const wrong = this.#ingest(data);
    if (wrong !== undefined) {
      this.fail(new IbbError(wrong.reason, wrong.text), true);
    } else if (this.#buffered > this.#settings.readBufferLimit) {
      this.fail(
        new IbbError(
          "overflow",
          `More than ${this.#settings.readBufferLimit} bytes came in messages unread`,
        ),
        true,
      );
    }
  }

  /** Checks a data packet and keeps its bytes, or says what is wrong. */
  #ingest(data: Element):
    | {
      reason: IbbErrorReason;
      condition: "bad-request" | "unexpected-request";
      text: string;
    }
    | undefined {
    const seqText = data.attrs.seq ?? "";
    const seq = SEQ.test(seqText) ? Number(seqText) : -1;
    if (seq < 0 || seq > 0xffff) {
      return {
        reason: "bad-data",
        condition: "bad-request",
        text: "No valid seq attribute",
      };
    }
    if (seq !== this.#inSeq) {
      return {
        reason: "sequence",
        condition: "unexpected-request",
        text: `Data packet ${seq} came where ${this.#inSeq} was due`,
      };
    }
    const bytes = decodeBase64(data.text());
    if (bytes === undefined) {
      return {
        reason: "bad-data",
        condition: "bad-request",
        text: "Data is not base64",
      };
    }
    if (bytes.length > this.blockSize) {
      return {
        reason: "bad-data",
        condition: "bad-request",
        text:
          `Data packet of ${bytes.length} bytes exceeds the block size ${this.blockSize}`,
      };
    }
    this.#inSeq = (seq + 1) & 0xffff;
    if (bytes.length > 0) {
      const reader = this.#reader;
      if (reader !== undefined) {
        this.#reader = undefined;
        reader.resolve(bytes);
      } else {
        this.#chunks.push(bytes);
        this.#buffered += bytes.length;
      }
    }
    return undefined;
  }

  /** Answers the peer's close: reading ends once the data is read. */
  peerClose(request: Element): IqAnswer {
    if (!this.#peerClosed) {
      this.#peerClosed = true;
      this.#releaseHeld();
      this.#rejectSlot(
        new TransportError("Cannot write: the peer closed the bytestream"),
      );
      if (this.#chunks.length === 0) this.#wakeEnd();
    }
    if (this.#closeSent === undefined) this.#end();
    return iqResult(request);
  }

  /** Ends the session with `error`, telling the peer when it is to blame. */
  fail(error: IbbError, tellPeer: boolean): void {
    if (this.#failure !== undefined || this.#ended) return;
    this.#failure = error;
    this.#chunks = [];
    this.#buffered = 0;
    this.#releaseHeld();
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(error);
    this.#rejectSlot(error);
    if (this.#closeSent !== undefined) return; // ends when it is answered
    if (tellPeer && !this.#peerClosed) void this.#sendClose();
    else this.#end();
  }

  /** Forgets a session that never opened. */
  abandon(): void {
    this.#localClosed = true;
    this.#end();
  }

  #take(): Uint8Array | undefined {
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return undefined;
    this.#buffered -= chunk.length;
    if (this.#buffered <= this.#settings.readBufferLimit) this.#releaseHeld();
    return chunk;
  }

  #releaseHeld(): void {
    const held = this.#held;
    this.#held = [];
    this.#settings.held.count -= held.length;
    for (const ack of held) ack();
  }

  #wakeEnd(): void {
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(null);
  }

  #refuse(
    reason: IbbErrorReason,
    condition: "bad-request" | "unexpected-request",
    text: string,
  ): StanzaError {
    this.fail(new IbbError(reason, text), false);
    return new StanzaError(condition, { type: "cancel", text });
  }

  #writeRefusal(): Error | undefined {
    if (this.#failure !== undefined) return this.#failure;
    if (this.#localClosed || this.#closeSent !== undefined) {
      return new TransportError("Cannot write: the bytestream is closed");
    }
    if (this.#peerClosed || this.#ended) {
      return new TransportError("Cannot write: the peer closed the bytestream");
    }
    return undefined;
  }

  async #send(bytes: Uint8Array): Promise<void> {
    const size = this.blockSize;
    for (let offset = 0; offset < bytes.length; offset += size) {
      if (this.#inflight >= this.#settings.window) {
        await new Promise<void>((resolve, reject) =>
          this.#slot = { resolve, reject }
        );
      }
      const refused = this.#writeRefusal();
      if (refused !== undefined) throw refused;
      const chunk = bytes.subarray(offset, offset + size);
      if (this.stanza === "message") await this.#post(chunk);
      else this.#issue(chunk);
    }
  }

  #issue(chunk: Uint8Array): void {
    const seq = this.#outSeq;
    this.#outSeq = (seq + 1) & 0xffff;
    this.#inflight++;
    const { stream, peer, timeoutMs } = this.#settings;
    const packet = iq(
      { type: "set", to: peer },
      xml("data", { xmlns: IBB_NS, sid: this.sid, seq }, encodeBase64(chunk)),
    );
    stream.request(packet, timeoutMs === undefined ? {} : { timeoutMs }).then(
      () => this.#acked(),
      (error) => {
        this.#acked();
        // Once closing, the peer may have forgotten the session already.
        if (this.#localClosed || this.#peerClosed || this.#ended) return;
        const failure = ibbErrorOf(error, "Cannot send data");
        this.fail(failure, failure.reason !== "stream-ended");
      },
    );
  }

  /** Sends a data packet in a message: written, never acknowledged. */
  async #post(chunk: Uint8Array): Promise<void> {
    const seq = this.#outSeq;
    this.#outSeq = (seq + 1) & 0xffff;
    const packet = message(
      { to: this.#settings.peer },
      xml("data", { xmlns: IBB_NS, sid: this.sid, seq }, encodeBase64(chunk)),
    );
    try {
      await this.#settings.stream.send(packet);
    } catch (error) {
      const failure = ibbErrorOf(error, "Cannot send data");
      this.fail(failure, false);
      throw failure;
    }
  }

  #acked(): void {
    this.#inflight--;
    const slot = this.#slot;
    this.#slot = undefined;
    slot?.resolve();
  }

  #rejectSlot(error: Error): void {
    const slot = this.#slot;
    this.#slot = undefined;
    slot?.reject(error);
  }

  #sendClose(): Promise<void> {
    if (this.#closeSent !== undefined) return this.#closeSent;
    const { stream, peer, timeoutMs } = this.#settings;
    const request = iq(
      { type: "set", to: peer },
      xml("close", { xmlns: IBB_NS, sid: this.sid }),
    );
    // Whatever the answer (the peer may have closed too), it is over.
    this.#closeSent = stream.request(
      request,
      timeoutMs === undefined ? {} : { timeoutMs },
    ).then(() => {}, () => {}).then(() => {
      this.#end();
      if (this.#chunks.length === 0) this.#wakeEnd();
    });
    return this.#closeSent;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settings.release();
    this.#resolveClosed();
  }
}
