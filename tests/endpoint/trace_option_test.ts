import assert from "node:assert/strict";
import { initiate } from "../../src/e2e.ts";
import type { StreamInfo } from "../../src/e2e.ts";
import { Session } from "../../src/stream/session.ts";
import type { TraceEntry } from "../../src/stream/session.ts";
import { consoleTrace, REDACTED } from "../../src/stream/debug_trace.ts";
import { fakeTlsPair } from "../stream/_pair.ts";

Deno.test("the trace option gets one info object per stream, up to date at each entry", async () => {
  const [a, b] = fakeTlsPair();
  const juliet = new Session({
    role: "recipient",
    transport: b,
    from: "juliet@pronto",
  });
  const seen: [TraceEntry, StreamInfo, boolean][] = [];
  const [romeo] = await Promise.all([
    initiate({
      transport: a,
      from: "romeo@forza",
      to: "juliet@pronto",
      trace: (entry, info) => seen.push([entry, info, info.tls !== undefined]),
    }),
    juliet.negotiate(),
  ]);
  await Promise.all([romeo.close(), juliet.closed]);
  const infos = new Set(seen.map(([, info]) => info));
  assert.equal(infos.size, 1);
  // Each entry saw the TLS state of its moment, as its own flag says.
  for (const [entry, , tls] of seen) assert.equal(tls, entry.tls);
  assert.ok(seen.some(([entry]) => entry.tls));
  assert.ok(seen.some(([entry]) => !entry.tls));
});

Deno.test("consoleTrace as the trace option prints the stream's XML on stderr", async () => {
  const [a, b] = fakeTlsPair();
  const juliet = new Session({
    role: "recipient",
    transport: b,
    from: "juliet@pronto",
  });
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    const [romeo] = await Promise.all([
      initiate({
        transport: a,
        from: "romeo@forza",
        to: "juliet@pronto",
        trace: consoleTrace,
      }),
      juliet.negotiate(),
    ]);
    await Promise.all([romeo.close(), juliet.closed]);
  } finally {
    console.error = original;
  }
  assert.match(lines[0] ?? "", /^\[xmpp-e2e juliet@pronto\] -> out: <\?xml/);
  assert.ok(lines.some((l) => l.includes("<- in : <proceed")));
  assert.ok(lines.some((l) => l.includes("-> out tls: </stream:stream>")));
  assert.ok(!lines.some((l) => l.includes(REDACTED)), "nothing to redact");
});
