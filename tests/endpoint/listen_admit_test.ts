// listen()'s `admit`: the initiator's claim (its header's from and to, and
// the connection's source) decided on before anything is answered, as
// link-local clients take streams only from an advertised peer's address
// under that peer's name. Over loopback TCP, from 127.0.0.1 and 127.0.0.2.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import {
  type AdmitClaim,
  type E2EListener,
  initiate,
  listen,
  type ListenOptions,
} from "../../src/e2e.ts";
import type { TraceEntry } from "../../src/stream/session.ts";
import { StreamError } from "../../src/stream/errors.ts";
import { certificate } from "../transport/_helpers.ts";
import { headerOf, messageOf, Wire } from "./_legacy_peers.ts";

const US = "juliet@pronto";
const PEER = "romeo@forza";

/** The link-local rule: the advertised peer's name, from its address. */
const advertised = (claim: AdmitClaim) =>
  claim.from === PEER && claim.remote.hostname === "127.0.0.1";

async function ourListener(
  extra: Partial<ListenOptions> = {},
): Promise<E2EListener> {
  const cert = await certificate("pronto");
  return listen({
    from: US,
    certificate: { cert: cert.certPem, key: cert.keyPem },
    tls: "optional",
    legacy: true,
    admit: advertised,
    ...extra,
  });
}

/** A libpurple-style initiator that says `from` from `source`; what it got. */
async function knock(
  listener: E2EListener,
  from: string,
  source = "127.0.0.1",
): Promise<string> {
  const wire = await Wire.connect(listener.addr.port, source);
  await wire.write(headerOf("libpurple", from, US));
  const answer = await wire.rest();
  await wire.hangUp();
  return answer;
}

async function refusedWith(
  listener: E2EListener,
  condition: string,
  attempt: Promise<string>,
): Promise<StreamError> {
  const failure = firstValueFrom(listener.failures$);
  void listener.accept();
  const answer = await attempt;
  assert.match(answer, new RegExp(`<stream:error><${condition} xmlns=`));
  assert.doesNotMatch(answer, /<stream:features/);
  const { error, remote } = await failure;
  assert.ok(error instanceof StreamError, String(error));
  assert.equal(error.condition, condition);
  assert.equal(error.sent, true);
  assert.ok(remote !== undefined);
  return error;
}

Deno.test("listen() refuses an initiator whose from is not the advertised peer's with invalid-from, counted and told", async () => {
  const listener = await ourListener();
  await refusedWith(listener, "invalid-from", knock(listener, "mallory@evil"));
  assert.equal(listener.stats.failed, 1);
  assert.equal(listener.stats.notAdmitted, 1);
  assert.equal(listener.stats.negotiated, 0);
  await listener.close();
});

Deno.test("listen() refuses the advertised peer's name from another source address (127.0.0.2) with invalid-from", async () => {
  const listener = await ourListener();
  await refusedWith(
    listener,
    "invalid-from",
    knock(listener, PEER, "127.0.0.2"),
  );
  assert.equal(listener.stats.notAdmitted, 1);
  await listener.close();
});

Deno.test("listen() admits the advertised peer from its address, and asks before anything is answered", async () => {
  const written: TraceEntry[] = [];
  const claims: AdmitClaim[] = [];
  const listener = await ourListener({
    trace: (entry) => {
      if (entry.direction === "out") written.push(entry);
    },
    admit: async (claim) => {
      claims.push(claim);
      assert.deepEqual(written, [], "nothing was answered yet");
      await new Promise((resolve) => setTimeout(resolve, 20));
      return advertised(claim);
    },
  });
  const accepted = listener.accept();
  const wire = await Wire.connect(listener.addr.port);
  await wire.write(headerOf("libpurple", PEER, US));
  const stream = (await accepted)!;
  assert.equal(claims.length, 1);
  assert.equal(claims[0]!.from, PEER);
  assert.equal(claims[0]!.to, US);
  assert.equal(claims[0]!.remote.hostname, "127.0.0.1");
  assert.equal(typeof claims[0]!.remote.port, "number");
  const got = firstValueFrom(stream.stanzas$);
  await wire.write(messageOf("libpurple", PEER, US, "let me in"));
  assert.equal((await got).getChildText("body"), "let me in");
  await wire.write("</stream:stream>");
  await wire.hangUp();
  assert.deepEqual(await stream.closed, { clean: true });
  assert.equal(listener.stats.notAdmitted, 0);
  await listener.close();
});

Deno.test('admit can let one named legacy peer in unencrypted ({ tls: "optional" }) on a listener that requires TLS, and no other', async () => {
  const listener = await ourListener({
    tls: "required",
    admit: (claim) =>
      claim.from === PEER ? { tls: "optional" } : claim.from === "ada@lab",
  });
  const accepted = listener.accept();
  const wire = await Wire.connect(listener.addr.port);
  await wire.write(headerOf("libpurple", PEER, US));
  const stream = (await accepted)!;
  assert.equal(stream.info.encrypted, false);
  assert.equal(stream.info.authenticated, false);
  await wire.write("</stream:stream>");
  await wire.hangUp();
  assert.deepEqual(await stream.closed, { clean: true });
  // Admitted, but under the listener's policy: no TLS, no stream.
  await refusedWith(
    listener,
    "unsupported-version",
    knock(listener, "ada@lab"),
  );
  assert.equal(listener.stats.notAdmitted, 0);
  await listener.close();
});

Deno.test("listen() refuses with internal-server-error when admit throws, the thrown error as the cause", async () => {
  const oops = new Error("the peer table is gone");
  const listener = await ourListener({
    admit: () => Promise.reject(oops),
  });
  const error = await refusedWith(
    listener,
    "internal-server-error",
    knock(listener, PEER),
  );
  assert.equal(error.cause, oops);
  assert.equal(listener.stats.notAdmitted, 1);
  await listener.close();
});

Deno.test("listen() asks admit once per connection, not again at the restart after STARTTLS", async () => {
  let asked = 0;
  const cert = await certificate("pronto");
  const listener = await ourListener({
    tls: "required",
    admit: () => (asked++, true),
  });
  const accepted = listener.accept();
  const romeo = await initiate({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    from: PEER,
    to: US,
    trust: { pinnedFingerprint256: cert.fingerprint256 },
  });
  const juliet = (await accepted)!;
  assert.equal(juliet.info.encrypted, true);
  assert.equal(asked, 1);
  const closed = juliet.closed;
  assert.deepEqual(await romeo.close(), { clean: true });
  assert.deepEqual(await closed, { clean: true });
  await listener.close();
});
