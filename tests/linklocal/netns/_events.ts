/**
 * Waiting for what a browser tells, in the link-local tests.
 *
 * @module
 */

import type { Observable, Subscription } from "rxjs";
import type { PeerEvent } from "../../../src/linklocal/peer.ts";

/** Collects the events of a browser; waits for the one wanted. */
export class Events {
  readonly all: { at: number; event: PeerEvent }[] = [];
  readonly #subscription: Subscription;
  #wake: (() => void) | undefined;
  #error: unknown;

  /**
   * Subscribes.
   *
   * @param events$ The browser.
   */
  constructor(events$: Observable<PeerEvent>) {
    this.#subscription = events$.subscribe({
      next: (event) => {
        this.all.push({ at: performance.now(), event });
        this.#wake?.();
      },
      error: (error) => {
        this.#error = error;
        this.#wake?.();
      },
    });
  }

  /**
   * Waits for an event (one already told counts).
   *
   * @param match What to wait for.
   * @param timeoutMs How long.
   * @returns The event and when it came (performance.now()).
   */
  async next(
    match: (event: PeerEvent) => boolean,
    timeoutMs = 15_000,
  ): Promise<{ at: number; event: PeerEvent }> {
    const deadline = Date.now() + timeoutMs;
    let from = 0;
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      const found = this.all.slice(from).find((e) => match(e.event));
      if (found !== undefined) {
        this.all.splice(this.all.indexOf(found), 1);
        return found;
      }
      from = this.all.length;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `No such event in ${timeoutMs} ms; saw ${JSON.stringify(this.all)}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** Unsubscribes (the browser's sockets close). */
  stop(): void {
    this.#subscription.unsubscribe();
  }
}
