import assert from "node:assert/strict";
import {
  type CipherConn,
  CipherStream,
} from "../../src/transport/_cipher_stream.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A connection that takes at most 2 bytes a write, and logs. */
function recording(): CipherConn & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async write(bytes) {
      log.push(`write ${bytes.length}`);
      await tick();
      return Math.min(2, bytes.length);
    },
    async closeWrite() {
      log.push("end");
      await tick();
    },
  };
}

function received(stream: CipherStream): string[] {
  const events: string[] = [];
  stream.on("data", (chunk: Uint8Array) => events.push(`data ${chunk[0]}`));
  stream.once("end", () => events.push("end"));
  stream.once("close", () => events.push("close"));
  return events;
}

Deno.test("CipherStream hands a pushed chunk over at once while it flows", () => {
  const stream = new CipherStream(recording());
  const events = received(stream);
  assert.equal(stream.push(new Uint8Array([1])), true);
  assert.deepEqual(events, ["data 1"]);
  assert.equal(stream.waiting, 0);
});

Deno.test("CipherStream keeps what is pushed while paused, and hands it over in order, then the end, once resumed", async () => {
  const stream = new CipherStream(recording());
  const events = received(stream);
  stream.pause();
  assert.equal(stream.push(new Uint8Array([1])), false);
  assert.equal(stream.push(new Uint8Array([2])), false);
  stream.push(null);
  assert.equal(stream.waiting, 2);
  await tick();
  assert.deepEqual(events, []);
  stream.resume();
  await tick();
  assert.deepEqual(events, ["data 1", "data 2", "end"]);
  assert.equal(stream.waiting, 0);
  assert.equal(stream.readable, false);
});

Deno.test("CipherStream writes one at a time, in order and whole, and calls each write back once it is done", async () => {
  const sink = recording();
  const stream = new CipherStream(sink);
  const done: number[] = [];
  stream.write(new Uint8Array(3), () => done.push(3));
  stream.write(new Uint8Array(2), () => done.push(2));
  assert.deepEqual(done, []);
  await stream.written;
  assert.deepEqual(sink.log, ["write 3", "write 1", "write 2"]);
  assert.deepEqual(done, [3, 2]);
});

Deno.test("CipherStream ends the connection after the writes before it, and refuses writes after", async () => {
  const sink = recording();
  const stream = new CipherStream(sink);
  stream.write(new Uint8Array(3));
  const ended = new Promise<void>((resolve) => stream.end(resolve));
  await ended;
  assert.deepEqual(sink.log, ["write 3", "write 1", "end"]);
  const refused = await new Promise<Error | null | undefined>((resolve) =>
    stream.write(new Uint8Array(1), resolve)
  );
  assert.ok(refused instanceof Error);
});

Deno.test("CipherStream calls a failed write back with its error, then tells the error and closes", async () => {
  const failure = new Error("broken pipe");
  const stream = new CipherStream({
    write: () => Promise.reject(failure),
    closeWrite: () => Promise.resolve(),
  });
  const events = received(stream);
  stream.on("error", (e: Error) => events.push(`error ${e.message}`));
  const called = await new Promise<Error | null | undefined>((resolve) =>
    stream.write(new Uint8Array(1), resolve)
  );
  assert.ok(called instanceof Error);
  assert.equal(called.cause, failure);
  await tick();
  assert.equal(events.length, 2);
  assert.match(events[0]!, /^error Cannot write: broken pipe/);
  assert.equal(events[1], "close");
});

Deno.test("CipherStream destroy() drops what waits and closes once", async () => {
  const stream = new CipherStream(recording());
  const events = received(stream);
  stream.pause();
  stream.push(new Uint8Array([1]));
  stream.destroy();
  stream.destroy();
  stream.resume();
  await tick();
  assert.deepEqual(events, ["close"]);
  assert.equal(stream.push(new Uint8Array([2])), true);
  assert.deepEqual(events, ["close"]);
});

Deno.test("CipherStream calls a once listener once, and a removed listener no more", () => {
  const stream = new CipherStream(recording());
  const calls: string[] = [];
  const every = (chunk: Uint8Array) => calls.push(`every ${chunk[0]}`);
  stream.once("data", (chunk: Uint8Array) => calls.push(`once ${chunk[0]}`));
  stream.on("data", every);
  stream.push(new Uint8Array([1]));
  stream.push(new Uint8Array([2]));
  stream.removeListener("data", every);
  stream.push(new Uint8Array([3]));
  assert.deepEqual(calls, ["once 1", "every 1", "every 2"]);
});

Deno.test("CipherStream holds no write once its writes are done", async () => {
  const stream = new CipherStream(recording());
  const idle = stream.written;
  stream.write(new Uint8Array(1));
  assert.notEqual(stream.written, idle);
  await stream.written;
  await tick();
  assert.equal(stream.written, idle);
});
