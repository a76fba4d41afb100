// An error and its causes, for tests that look for one kind among them.

/** `error`, its cause, that one's cause..., at most 8 deep. */
export function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && out.length < 8;) {
    out.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return out;
}
