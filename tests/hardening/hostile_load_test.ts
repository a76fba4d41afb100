// Hostile load against listen() over loopback, shortened: attackers come
// from 127.0.0.2, 127.0.0.3, ... (node:net binds the source address), the
// legitimate initiator from 127.0.0.1. The full-size floods, with their
// figures, are `deno task bench:attack`.

import assert from "node:assert/strict";
import type * as net from "node:net";
import {
  type E2EListener,
  type E2EStream,
  initiate,
  listen,
  type ListenerFailure,
  type ListenOptions,
} from "../../src/e2e.ts";
import { message } from "../../src/stanza/stanza.ts";
import {
  NegotiationError,
  StreamError,
  TimeoutError,
} from "../../src/stream/errors.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import {
  bigMessage,
  floodConn,
  hangUp,
  iqGets,
  negotiateDeno,
  openHeaderOnly,
  openSilent,
  sourceAddress,
  type Target,
  trickle,
} from "../../bench/_attackers.ts";
import { within } from "../transport/_helpers.ts";

const certificate = await generateCertificate({ names: ["pronto"] });

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A listener as juliet@pronto, accepting every stream into `streams`. */
async function juliet(options: Partial<ListenOptions> = {}) {
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    ...options,
  });
  const streams: E2EStream[] = [];
  const failures: ListenerFailure[] = [];
  listener.failures$.subscribe((failure) => failures.push(failure));
  const accepting = (async () => {
    for await (const stream of listener) streams.push(stream);
  })();
  const target: Target = {
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCert: certificate.certPem,
  };
  return {
    listener,
    streams,
    failures,
    target,
    async close() {
      await listener.close();
      await accepting;
      await Promise.all(streams.map((s) => s.close()));
    },
  };
}

/** romeo@forza from 127.0.0.1: negotiates, sends a message, closes. */
async function romeo(listener: E2EListener): Promise<void> {
  const stream = await initiate({
    from: "romeo@forza",
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCerts: [certificate.certPem],
  });
  await stream.send(message({ to: "juliet@pronto", body: "wherefore" }));
  assert.deepEqual(await stream.close(), { clean: true });
}

/** Waits until `condition()` holds, checking every 10 ms, for 10 s at most. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 10_000) throw new Error(`Never: ${what}`);
    await wait(10);
  }
}

function closedSoon(socket: net.Socket): Promise<void> {
  return within(
    10_000,
    new Promise<void>((resolve) => {
      if (socket.destroyed || socket.readyState === "closed") resolve();
      socket.once("close", () => resolve());
      socket.resume(); // read, so that the peer's FIN is seen
    }),
  );
}

Deno.test("a legitimate initiator gets its stream while 400 silent connections from 10 addresses hold the listener", async () => {
  const j = await juliet();
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 400; i++) {
      sockets.push(
        await openSilent(j.target, { localAddress: sourceAddress(i) }),
      );
    }
    await until(
      () => j.listener.stats.accepted === 400,
      "all 400 were accepted",
    );
    const stats = j.listener.stats;
    // 8 per address negotiate; the other 320 were closed at once.
    assert.equal(stats.negotiating, 80);
    assert.equal(stats.refusedPerAddress, 320);
    await within(10_000, romeo(j.listener));
    assert.equal(j.listener.stats.negotiated, 1);
  } finally {
    for (const socket of sockets) socket.destroy();
    await j.close();
  }
});

Deno.test("when the listener is full, the stalest negotiating connection gives way, never a fresh one", async () => {
  const j = await juliet({ maxPending: 20, maxPendingPerAddress: 20 });
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      sockets.push(
        await openHeaderOnly(j.target, { localAddress: sourceAddress(i, 20) }),
      );
    }
    await until(() => j.listener.stats.negotiating === 20, "20 negotiate");
    // The oldest connections of the busiest address go first; romeo's
    // moves on at every step, so nobody newer pushes him out.
    await within(10_000, romeo(j.listener));
    assert.ok(j.listener.stats.evicted >= 1);
    assert.equal(j.listener.stats.negotiated, 1);
    // An evicted connection was told why, and closed.
    await closedSoon(sockets[0]!);
  } finally {
    for (const socket of sockets) socket.destroy();
    await j.close();
  }
});

Deno.test("silent and header-only connections are cut at the header deadline, and failures$ says who and why", async () => {
  const j = await juliet({ headerTimeoutMs: 200 });
  const silent = await openSilent(j.target, { localAddress: "127.0.0.2" });
  const header = await openHeaderOnly(j.target, {
    localAddress: "127.0.0.3",
  });
  try {
    await closedSoon(silent);
    await until(() => j.failures.length === 1, "one failure reported");
    // The header-only one sent its header: the negotiation deadline (30 s)
    // holds it, not the header deadline; the silent one timed out.
    const failure = j.failures[0]!;
    assert.equal(failure.remote?.hostname, "127.0.0.2");
    assert.ok(failure.error instanceof TimeoutError, String(failure.error));
    assert.equal(j.listener.stats.timedOut, 1);
    assert.equal(j.listener.stats.negotiating, 1);
  } finally {
    silent.destroy();
    header.destroy();
    await j.close();
  }
});

Deno.test("a header trickled one byte at a time is cut at the header deadline", async () => {
  const j = await juliet({ headerTimeoutMs: 300 });
  const socket = await openSilent(j.target, { localAddress: "127.0.0.4" });
  try {
    const sent = await within(
      10_000,
      trickle(
        socket,
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='juliet@pronto' version='1.0'>",
        50,
      ),
    );
    assert.ok(sent < 20, `${sent} bytes before the cut`);
    await until(() => j.listener.stats.timedOut === 1, "timed out");
  } finally {
    socket.destroy();
    await j.close();
  }
});

Deno.test("a peer flooding iq requests without reading is held back by TCP, then cut with connection-timeout at the stall deadline", async () => {
  const j = await juliet({ stallTimeoutMs: 500, closeTimeoutMs: 200 });
  const conn = await negotiateDeno(j.target);
  try {
    await until(() => j.streams.length === 1, "the stream is open");
    const stream = j.streams[0]!;
    let sent = 0;
    const flooding = floodConn(
      conn,
      new TextEncoder().encode(iqGets(200)),
      () => false,
      (bytes) => sent += bytes,
    );
    const result = await within(10_000, stream.closed);
    assert.ok(result.error instanceof StreamError, String(result.error));
    assert.equal(result.error.condition, "connection-timeout");
    assert.equal(result.error.sent, true);
    // Our replies filled the send queue (1 MiB) and the socket buffers,
    // then reading stopped: what the peer got in is bounded by those.
    assert.ok(sent < 32 * 1024 * 1024, `${sent} bytes accepted`);
    await within(10_000, flooding);
  } finally {
    try {
      conn.close();
    } catch {
      // The listener closed it.
    }
    await j.close();
  }
});

Deno.test("a peer flooding disco#info and pings without reading gets the built-in answers only as far as the send queue, then connection-timeout", async () => {
  const j = await juliet({ stallTimeoutMs: 500, closeTimeoutMs: 200 });
  const conn = await negotiateDeno(j.target);
  try {
    await until(() => j.streams.length === 1, "the stream is open");
    const stream = j.streams[0]!;
    let requests = "";
    for (let i = 0; i < 200; i++) {
      requests += `<iq type='get' id='d${i}'>` +
        "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>" +
        `<iq type='get' id='p${i}'><ping xmlns='urn:xmpp:ping'/></iq>`;
    }
    let sent = 0;
    const flooding = floodConn(
      conn,
      new TextEncoder().encode(requests),
      () => false,
      (bytes) => sent += bytes,
    );
    const result = await within(10_000, stream.closed);
    assert.ok(result.error instanceof StreamError, String(result.error));
    assert.equal(result.error.condition, "connection-timeout");
    // Each disco#info answer is a few times its request: the send queue
    // (1 MiB) bounds them all the same, and reading stops.
    assert.ok(sent < 32 * 1024 * 1024, `${sent} bytes accepted`);
    await within(10_000, flooding);
  } finally {
    try {
      conn.close();
    } catch {
      // The listener closed it.
    }
    await j.close();
  }
});

/**
 * One negotiated peer (Deno.startTls, never reading) flooding juliet with
 * `chunk`; her application accepts the stream and never subscribes.
 * `stopAfter` bytes, then the peer hangs up, if given.
 */
async function flooded(
  chunk: string,
  stopAfter?: number,
  options: Partial<ListenOptions> = {
    stallTimeoutMs: 500,
    closeTimeoutMs: 200,
  },
) {
  const j = await juliet(options);
  const conn = await negotiateDeno(j.target);
  await until(() => j.streams.length === 1, "the stream is open");
  let sent = 0;
  const flooding = floodConn(
    conn,
    new TextEncoder().encode(chunk),
    () => stopAfter !== undefined && sent > stopAfter,
    (bytes) => sent += bytes,
  );
  return {
    stream: j.streams[0]!,
    sent: () => sent,
    flooding: within(10_000, flooding),
    hangUp() {
      try {
        conn.close();
      } catch {
        // The listener closed it.
      }
    },
    close: () => j.close(),
  };
}

/** Hangs up on `f`'s stream, which must then end within `ms`, not cleanly. */
async function endsOnHangUp(
  f: Awaited<ReturnType<typeof flooded>>,
  ms: number,
): Promise<void> {
  f.hangUp();
  const result = await within(ms, f.stream.closed);
  assert.equal(result.clean, false);
  assert.equal(f.stream.state, "closed");
}

Deno.test("200 KB messages over TLS that nobody takes stop being read at the buffer bound, and the stream ends at the stall deadline", async () => {
  const f = await flooded(bigMessage(200_000));
  try {
    const result = await within(10_000, f.stream.closed);
    assert.ok(result.error instanceof StreamError, String(result.error));
    assert.equal(result.error.condition, "resource-constraint");
    // Only the socket buffers and one stanza or two got in.
    assert.ok(f.sent() < 32 * 1024 * 1024, `${f.sent()} bytes accepted`);
    await f.flooding;
  } finally {
    f.hangUp();
    await f.close();
  }
});

Deno.test("a flooding peer that hangs up while its stream is paused ends that stream within the stall deadline", async () => {
  // It stops writing once it wrote 1 MB (the socket buffers take that at
  // once), then hangs up, while reading is paused on our side.
  const f = await flooded(bigMessage(200_000), 1_000_000);
  try {
    await f.flooding;
    assert.equal(f.stream.state, "open");
    await endsOnHangUp(f, 10_000);
  } finally {
    await f.close();
  }
});

Deno.test("an iq flooder that hangs up mid-flood over TLS ends its stream at once, long before any deadline", async () => {
  // Every deadline far off: only the hang-up can end the stream in time.
  const f = await flooded(iqGets(200), 4_000_000, {
    stallTimeoutMs: 60_000,
    closeTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
  });
  try {
    await f.flooding;
    await endsOnHangUp(f, 5_000);
  } finally {
    await f.close();
  }
});

Deno.test("a stanza trickled by a negotiated peer is cut at the stanza deadline", async () => {
  const j = await juliet({ stanzaTimeoutMs: 300, idleTimeoutMs: 10_000 });
  const conn = await negotiateDeno(j.target);
  try {
    await until(() => j.streams.length === 1, "the stream is open");
    const stream = j.streams[0]!;
    stream.stanzas$.subscribe({ error() {} });
    const encoder = new TextEncoder();
    await conn.write(encoder.encode("<message><body>"));
    const timer = setInterval(
      () => void conn.write(encoder.encode("a")).catch(() => {}),
      30,
    );
    try {
      const result = await within(10_000, stream.closed);
      assert.ok(result.error instanceof StreamError, String(result.error));
      assert.equal(result.error.condition, "policy-violation");
    } finally {
      clearInterval(timer);
    }
  } finally {
    try {
      conn.close();
    } catch {
      // The listener closed it.
    }
    await j.close();
  }
});

Deno.test("listen() refuses at once what cannot work: TLS required without a certificate, a key that is not the certificate's, a malformed pin, a limit of 0", async () => {
  await assert.rejects(listen({ from: "juliet@pronto" }), NegotiationError);
  await assert.rejects(
    listen({
      from: "juliet@pronto",
      certificate: { cert: certificate.certPem, key: certificate.keyPem },
      pinnedPeerFingerprint256: "nope",
    }),
    TypeError,
  );
  await assert.rejects(
    listen({ from: "juliet@pronto", tls: "off", maxPending: 0 }),
    TypeError,
  );
  const other = await generateCertificate({ names: ["other"] });
  await assert.rejects(
    listen({
      from: "juliet@pronto",
      certificate: { cert: certificate.certPem, key: other.keyPem },
    }),
    TypeError,
  );
  // TLS optional still offers STARTTLS, so it needs a certificate too.
  await assert.rejects(
    listen({ from: "juliet@pronto", tls: "optional" }),
    NegotiationError,
  );
  // Plaintext by name needs none.
  const plain = await listen({ from: "juliet@pronto", tls: "off" });
  await plain.close();
});

Deno.test("peers that hang up mid-negotiation leave no counted stream and no socket behind", async () => {
  const j = await juliet();
  for (let i = 0; i < 30; i++) {
    const socket = await openHeaderOnly(j.target, {
      localAddress: sourceAddress(i),
    });
    hangUp(socket);
  }
  await until(
    () => j.listener.stats.negotiating === 0 && j.failures.length === 30,
    "30 negotiations failed",
  );
  assert.equal(j.listener.stats.open, 0);
  await j.close();
});

const prlimit = (() => {
  try {
    return new Deno.Command("prlimit", { args: ["--version"] }).outputSync()
        .success
      ? "prlimit"
      : undefined;
  } catch {
    return undefined;
  }
})();

Deno.test({
  name:
    "a listener out of file descriptors keeps running, cuts the stalest negotiations and serves a legitimate peer",
  ignore: prlimit === undefined,
  async fn() {
    const child = new Deno.Command("prlimit", {
      args: [
        "--nofile=96:96",
        Deno.execPath(),
        "run",
        "--allow-net",
        "--allow-read",
        new URL("./_fd_limited_listener.ts", import.meta.url).pathname,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = child.stdout
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let buffered = "";
    const nextLine = async (): Promise<Record<string, number>> => {
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return JSON.parse(line);
        }
        const { value, done } = await within(10_000, lines.read());
        if (done) throw new Error("The listener exited");
        buffered += value;
      }
    };
    const writer = child.stdin.getWriter();
    const stats = async () => {
      await writer.write(new TextEncoder().encode("\n"));
      return await nextLine();
    };
    const sockets: net.Socket[] = [];
    try {
      const { port } = await nextLine();
      const target: Target = {
        hostname: "127.0.0.1",
        port: port!,
        caCert: certificate.certPem,
      };
      // 25 addresses, 8 each: admission lets all 200 negotiate, but 96 file
      // descriptors cannot hold them.
      for (let i = 0; i < 200; i++) {
        sockets.push(
          await openSilent(target, { localAddress: sourceAddress(i, 25) }),
        );
      }
      await wait(300);
      const full = await stats();
      assert.ok(full.outOfFiles! >= 1, JSON.stringify(full));
      assert.ok(full.maxConnections! < 96, JSON.stringify(full));
      const stream = await within(
        10_000,
        initiate({
          from: "romeo@forza",
          to: "juliet@pronto",
          hostname: "127.0.0.1",
          port: port!,
          tls: "off",
        }),
      );
      await stream.send(message({ to: "juliet@pronto", body: "still here?" }));
      assert.deepEqual(await stream.close(), { clean: true });
      const after = await stats();
      assert.equal(after.negotiated, 1);
    } finally {
      for (const socket of sockets) socket.destroy();
      await writer.close().catch(() => {});
      lines.releaseLock();
      await child.stdout.cancel().catch(() => {});
      const status = await child.status;
      const stderr = new TextDecoder().decode(
        await new Response(child.stderr).arrayBuffer(),
      );
      assert.equal(status.code, 0, stderr);
    }
  },
});
