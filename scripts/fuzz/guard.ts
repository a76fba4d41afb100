/**
 * What the fuzzer watches around the code under test: uncaught exceptions
 * and unhandled rejections (counted, kept alive with `preventDefault()`),
 * and every timer the library starts, so that one still pending once the
 * sessions that made it have ended is reported as leaked.
 *
 * The fuzzer's own timers (watchdogs, delays) use {@linkcode sleep}, which
 * the guard does not count.
 *
 * @module
 */

const originalSetTimeout = globalThis.setTimeout;
const originalClearTimeout = globalThis.clearTimeout;
const originalSetInterval = globalThis.setInterval;
const originalClearInterval = globalThis.clearInterval;

type TimerId = ReturnType<typeof setTimeout>;

/**
 * Waits, on a timer the guard does not count.
 *
 * @param ms Milliseconds.
 * @returns Resolves after `ms`.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => originalSetTimeout(resolve, ms));
}

/** A timer the library started and has not cleared (or seen fire). */
export interface PendingTimer {
  /** `timeout` or `interval`. */
  kind: "timeout" | "interval";
  /** Its delay. */
  ms: number;
  /** Where it was started (the first frames of the stack). */
  origin: string;
}

/** Counts problems that escape the code under test. */
export class Guard {
  /** Uncaught exceptions. */
  uncaught = 0;
  /** Unhandled promise rejections. */
  unhandled = 0;
  /** The first few of both, described. */
  readonly escapes: string[] = [];
  readonly #timers = new Map<TimerId | undefined, PendingTimer>();
  #installed = false;

  /** Starts counting: listens for both events and wraps the timer functions. */
  install(): void {
    if (this.#installed) return;
    this.#installed = true;
    globalThis.addEventListener("error", (event) => {
      event.preventDefault();
      this.uncaught++;
      this.#keep("uncaught", event.error);
    });
    globalThis.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      this.unhandled++;
      this.#keep("unhandled rejection", event.reason);
    });
    const timers = this.#timers;
    const track = (kind: PendingTimer["kind"], ms: unknown) => ({
      kind,
      ms: Number(ms ?? 0),
      origin: origin(new Error().stack ?? ""),
    });
    type Handler = (...args: unknown[]) => void;
    globalThis.setTimeout =
      ((handler: Handler, ms?: number, ...args: unknown[]) => {
        const id = originalSetTimeout(() => {
          timers.delete(id);
          handler(...args);
        }, ms);
        timers.set(id, track("timeout", ms));
        return id;
      }) as typeof setTimeout;
    globalThis.clearTimeout = ((id?: TimerId) => {
      timers.delete(id);
      originalClearTimeout(id);
    }) as typeof clearTimeout;
    globalThis.setInterval =
      ((handler: Handler, ms?: number, ...args: unknown[]) => {
        const id = originalSetInterval(handler, ms, ...args);
        timers.set(id, track("interval", ms));
        return id;
      }) as typeof setInterval;
    globalThis.clearInterval = ((id?: TimerId) => {
      timers.delete(id);
      originalClearInterval(id);
    }) as typeof clearInterval;
  }

  /**
   * Takes the timers still pending, and forgets them (each leak is
   * reported once). Clears them too, so that they cannot fire later.
   *
   * @returns The pending timers.
   */
  takePending(): PendingTimer[] {
    const pending = [...this.#timers.values()];
    for (const id of this.#timers.keys()) {
      originalClearTimeout(id);
      originalClearInterval(id);
    }
    this.#timers.clear();
    return pending;
  }

  #keep(what: string, error: unknown): void {
    if (this.escapes.length >= 10) return;
    this.escapes.push(
      `${what}: ${
        error instanceof Error ? error.stack ?? String(error) : String(error)
      }`,
    );
  }
}

/** The frames of a stack below the guard's own, the first three of them. */
function origin(stack: string): string {
  return stack.split("\n").slice(2).filter((line) => !line.includes("guard.ts"))
    .slice(0, 3).map((line) => line.trim()).join(" < ");
}
