// How ciphertext is handed to node:tls so that an idle connection keeps
// small buffers in it. Deno's node:tls appends what it is given to an input
// buffer that starts at 4 KiB and never shrinks, and its TLS library reads
// that buffer into a record buffer 4 KiB at a time, which grows to hold a
// whole record (up to about 18 KiB) and shrinks back to 4 KiB only when a
// read starts with no partial record in it. So ciphertext goes in slices of
// at most 4 KiB, and the last record that starts in a chunk starts a slice:
// after a burst whose last record is small, both buffers are 4 KiB again.

/** The most ciphertext handed to node:tls at once. */
export const TLS_SLICE = 4096;

const HEADER = 5; // type, version (2), length (2)

/**
 * Cuts a stream of TLS records into slices for node:tls, following the
 * records across chunks. It only chooses where to cut: the slices of a
 * chunk are views of it, in order, and together are exactly the chunk,
 * whatever the bytes are (what is not TLS is cut somewhere and fails in
 * the handshake as it would whole).
 */
export class TlsSlicer {
  #left = 0; // bytes of the current record's body still to come
  #header = 0; // bytes of the next record's header seen so far
  #length = 0; // the high byte of the length, once seen

  /**
   * The slices of the next chunk of the stream.
   *
   * @param chunk Ciphertext, as read from the connection.
   * @returns Views of `chunk`, each at most {@linkcode TLS_SLICE} bytes.
   */
  slices(chunk: Uint8Array): Uint8Array[] {
    let last = 0; // where the last record that starts in the chunk starts
    let at = 0;
    while (at < chunk.length) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, chunk.length - at);
        at += n;
        this.#left -= n;
        continue;
      }
      if (this.#header === 0) last = at;
      const byte = chunk[at++]!;
      this.#header++;
      if (this.#header === HEADER - 1) this.#length = byte << 8;
      else if (this.#header === HEADER) {
        this.#left = this.#length | byte;
        this.#header = 0;
      }
    }
    const slices: Uint8Array[] = [];
    cut(chunk, 0, last, slices);
    cut(chunk, last, chunk.length, slices);
    return slices;
  }
}

function cut(
  chunk: Uint8Array,
  from: number,
  to: number,
  slices: Uint8Array[],
): void {
  for (let at = from; at < to; at += TLS_SLICE) {
    slices.push(chunk.subarray(at, Math.min(to, at + TLS_SLICE)));
  }
}
