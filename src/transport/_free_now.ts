// Native memory handed back at once. An ArrayBuffer's bytes live outside
// the JavaScript heap, in the allocator, and are freed only once the garbage
// collector finds the buffer dead; a flood of buffers made per TLS record
// (decrypted data, ciphertext) piles up between collections, interleaved
// with what lives on, and the allocator keeps the pages (RSS) long after.
// Detaching a buffer frees its bytes there and then, so the next one reuses
// them.

/**
 * Frees the bytes under `view` at once, when the view covers its whole
 * buffer (a buffer made for it alone: never a slice of a pool, or of a
 * buffer something else uses). The caller must hold the only reference to
 * it: the buffer is detached (empty) afterwards.
 *
 * @param view Bytes nothing will read again.
 * @returns Whether they were freed.
 */
export function freeNow(view: Uint8Array): boolean {
  const buffer = view.buffer;
  if (
    !(buffer instanceof ArrayBuffer) || buffer.detached ||
    buffer.byteLength === 0 || view.byteOffset !== 0 ||
    view.byteLength !== buffer.byteLength
  ) {
    return false;
  }
  buffer.transfer(0);
  return true;
}
