// Buffers handed back once nothing refers to them, to be filled again.
//
// A flood, or a burst on many connections, that reads and writes through
// fresh buffers leaves a trail of them to the garbage collector; once
// collected, the allocator keeps the memory they used, so the process's RSS
// stays at its high-water mark. Filling the same few buffers again avoids
// both. Shared by the connections of a process and bounded per size, so an
// idle process keeps at most a few of each.

/** A bounded pool of the buffers it made, by size. */
export class BufferPool {
  readonly #perSize: number;
  readonly #free = new Map<number, Uint8Array[]>();
  readonly #ours = new WeakSet<ArrayBufferLike>();

  /** @param perSize How many buffers of one size it keeps at most. */
  constructor(perSize: number) {
    this.#perSize = perSize;
  }

  /**
   * A buffer of `size` bytes: one given back, else a new one (whose
   * contents are then zero; a given-back one holds what it held).
   */
  take(size: number): Uint8Array {
    const free = this.reuse(size);
    if (free !== undefined) return free;
    const buffer = new Uint8Array(size);
    this.#ours.add(buffer.buffer);
    return buffer;
  }

  /** A buffer of `size` bytes given back, if the pool holds one. */
  reuse(size: number): Uint8Array | undefined {
    return this.#free.get(size)?.pop();
  }

  /** Whether `buffer` was made by this pool. */
  owns(buffer: ArrayBufferLike): boolean {
    return this.#ours.has(buffer);
  }

  /**
   * Takes back the whole buffer under `view`, which nothing may use any
   * more; a buffer this pool did not make, one it holds already, or one
   * over its bound is left to the garbage collector.
   */
  give(view: Uint8Array): void {
    const whole = view.buffer;
    if (!this.#ours.has(whole)) return;
    const size = whole.byteLength;
    let free = this.#free.get(size);
    if (free === undefined) this.#free.set(size, free = []);
    if (free.length >= this.#perSize || free.some((b) => b.buffer === whole)) {
      return;
    }
    free.push(
      view.byteOffset === 0 && view.length === size
        ? view
        : new Uint8Array(whole),
    );
  }
}
