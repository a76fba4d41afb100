/**
 * `xmpp-e2e` end to end: real processes over loopback, driven through
 * their standard input, output and error.
 */

import assert from "node:assert/strict";
import { cli, listening, OWN_FINGERPRINT } from "./_cli.ts";

const JULIET = "juliet@pronto";
const ROMEO = "romeo@forza";

function dialArgs(command: string, port: string): string[] {
  return [
    command,
    "--as",
    ROMEO,
    "--to",
    JULIET,
    "--host",
    "127.0.0.1",
    "--port",
    port,
  ];
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "xmpp-e2e-cli-" });
}

Deno.test("listen and connect exchange lines both ways, trust each other on first use and close in order at the end of input", async () => {
  const dir = await tempDir();
  try {
    const { listener, port } = await listening(JULIET, `${dir}/juliet`);
    const connect = cli(dialArgs("connect", port), `${dir}/romeo`);
    await connect.stderr(/Connected with juliet@pronto over TLS/);
    await connect.writeLine(
      "M'lady, I would be pleased to make your acquaintance.",
    );
    await listener.stdout(
      /^M'lady, I would be pleased to make your acquaintance\.$/m,
    );
    await listener.writeLine("Art thou not Romeo, and a Montague?");
    await connect.stdout(/^Art thou not Romeo, and a Montague\?$/m);
    await connect.endInput();
    const [romeo, juliet] = await Promise.all([
      connect.done(),
      listener.done(),
    ]);
    assert.equal(romeo.code, 0, romeo.err);
    assert.equal(juliet.code, 0, juliet.err);
    assert.match(
      romeo.err,
      /End of input: closing the stream\nClosed in order/,
    );
    assert.match(juliet.err, /romeo@forza closed the stream/);
    // Each end trusted the other on first use, naming the fingerprint the
    // other says is its own.
    const julietOwn = juliet.err.match(OWN_FINGERPRINT)![1]!;
    const romeoOwn = romeo.err.match(OWN_FINGERPRINT)![1]!;
    assert.ok(
      romeo.err.includes(
        `Trusting juliet@pronto on first use: its certificate is SHA-256 ${julietOwn}`,
      ),
    );
    assert.ok(
      juliet.err.includes(
        `Trusting romeo@forza on first use: its certificate is SHA-256 ${romeoOwn}`,
      ),
    );
    assert.equal(romeo.out, "Art thou not Romeo, and a Montague?\n");
    assert.equal(
      juliet.out,
      "M'lady, I would be pleased to make your acquaintance.\n",
    );

    // trust list shows what each remembered; the certificates made on the
    // first run are used again.
    const list = await cli(["trust", "list"], `${dir}/romeo`).done();
    assert.equal(list.code, 0);
    assert.equal(list.out, `juliet@pronto ${julietOwn}\n`);
    const again = await listening(JULIET, `${dir}/juliet`);
    const second = cli(dialArgs("connect", again.port), `${dir}/romeo`);
    await second.stderr(/known peer with the same certificate/);
    await second.endInput();
    const [r2, j2] = await Promise.all([second.done(), again.listener.done()]);
    assert.equal(r2.code, 0, r2.err);
    assert.equal(j2.code, 0, j2.err);
    assert.doesNotMatch(r2.err, /Made our certificate|on first use/);
    assert.equal(r2.err.match(OWN_FINGERPRINT)![1], romeoOwn);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connect ends when the peer closes, and a peer that ends its input closes the stream for both", async () => {
  const dir = await tempDir();
  try {
    const { listener, port } = await listening(JULIET, `${dir}/juliet`);
    const connect = cli(dialArgs("connect", port), `${dir}/romeo`);
    await listener.stderr(/Connected with romeo@forza/);
    await listener.writeLine("Good night, good night!");
    await listener.endInput();
    const [juliet, romeo] = await Promise.all([
      listener.done(),
      connect.done(),
    ]);
    assert.equal(juliet.code, 0, juliet.err);
    assert.equal(romeo.code, 0, romeo.err);
    assert.equal(romeo.out, "Good night, good night!\n");
    assert.match(romeo.err, /juliet@pronto closed the stream/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a line XML cannot carry is not sent, said so, and the chat goes on", async () => {
  const dir = await tempDir();
  try {
    const { listener, port } = await listening(JULIET, `${dir}/juliet`);
    const connect = cli(dialArgs("connect", port), `${dir}/romeo`);
    await connect.stderr(/Connected with juliet@pronto/);
    await connect.writeLine("bell \u0007 rings");
    await connect.writeLine("after the bell");
    await listener.stdout(/^after the bell$/m);
    await connect.endInput();
    const [romeo, juliet] = await Promise.all([
      connect.done(),
      listener.done(),
    ]);
    assert.equal(romeo.code, 0, romeo.err);
    assert.match(romeo.err, /Not sent: /);
    assert.equal(juliet.out, "after the bell\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("send delivers one message and closes in order; ping finds the peer reachable", async () => {
  const dir = await tempDir();
  try {
    const first = await listening(JULIET, `${dir}/juliet`);
    const sent = await cli(
      [
        ...dialArgs("send", first.port),
        "Parting",
        "is",
        "such",
        "sweet",
        "sorrow",
      ],
      `${dir}/romeo`,
    ).done();
    assert.equal(sent.code, 0, sent.err);
    assert.match(sent.err, /Sent; closed in order/);
    const juliet = await first.listener.done();
    assert.equal(juliet.code, 0, juliet.err);
    assert.equal(juliet.out, "Parting is such sweet sorrow\n");

    const second = await listening(JULIET, `${dir}/juliet`);
    const ping = await cli(dialArgs("ping", second.port), `${dir}/romeo`)
      .done();
    assert.equal(ping.code, 0, ping.err);
    // A peer that answers pings says pong; one that answers with an error
    // is reachable all the same (XEP-0199).
    assert.match(
      ping.out,
      /^(Pong from juliet@pronto in [\d.]+ ms|juliet@pronto is reachable \([\d.]+ ms\) but does not answer pings: it said service-unavailable)\n$/,
    );
    const j2 = await second.listener.done();
    assert.equal(j2.code, 0, j2.err);
    assert.equal(j2.out, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("send reads the message from standard input when no text is given", async () => {
  const dir = await tempDir();
  try {
    const { listener, port } = await listening(JULIET, `${dir}/juliet`);
    const send = cli(dialArgs("send", port), `${dir}/romeo`);
    await send.writeLine("What light through yonder window breaks?");
    await send.endInput();
    const [sent, juliet] = await Promise.all([send.done(), listener.done()]);
    assert.equal(sent.code, 0, sent.err);
    assert.equal(juliet.out, "What light through yonder window breaks?\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a changed certificate is refused loudly with exit code 5, until trust forget", async () => {
  const dir = await tempDir();
  try {
    // Romeo meets juliet once.
    const first = await listening(JULIET, `${dir}/juliet-old`);
    assert.equal(
      (await cli([...dialArgs("send", first.port), "hi"], `${dir}/romeo`)
        .done()).code,
      0,
    );
    assert.equal((await first.listener.done()).code, 0);

    // Someone else listens as juliet, with another certificate.
    const other = await listening(JULIET, `${dir}/juliet-new`);
    const refused = await cli(
      [...dialArgs("send", other.port), "hi"],
      `${dir}/romeo`,
    ).done();
    assert.equal(refused.code, 5, refused.err);
    assert.match(
      refused.err,
      /WARNING: THE CERTIFICATE OF juliet@pronto HAS CHANGED/,
    );
    assert.match(refused.err, /xmpp-e2e trust forget juliet@pronto/);
    // The listener heard why, from romeo's side, under TLS.
    const told = await other.listener.done();
    assert.equal(told.code, 1, told.err);
    assert.match(
      told.err,
      /not-authorized.*the certificate of juliet@pronto changed/,
    );
    assert.equal(told.out, "");

    // Forgetting juliet lets the new certificate be trusted on first use.
    const forget = await cli(["trust", "forget", JULIET], `${dir}/romeo`)
      .done();
    assert.equal(forget.code, 0, forget.err);
    const list = await cli(["trust", "list"], `${dir}/romeo`).done();
    assert.equal(list.out, "");
    const again = await listening(JULIET, `${dir}/juliet-new`);
    const accepted = await cli(
      [...dialArgs("send", again.port), "hi"],
      `${dir}/romeo`,
    ).done();
    assert.equal(accepted.code, 0, accepted.err);
    assert.match(accepted.err, /Trusting juliet@pronto on first use/);
    assert.equal((await again.listener.done()).out, "hi\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the configuration directory comes from XMPP_E2E_CONFIG_DIR, else XDG_CONFIG_HOME", async () => {
  const dir = await tempDir();
  try {
    const forget = await cli(["trust", "forget", "nobody@nowhere"], undefined, {
      XMPP_E2E_CONFIG_DIR: `${dir}/explicit`,
    }).done();
    assert.equal(forget.code, 1);
    assert.match(forget.err, /nobody@nowhere is not a known peer/);
    const list = await cli(["trust", "list"], undefined, {
      XDG_CONFIG_HOME: `${dir}/xdg`,
    }).done();
    assert.equal(list.code, 0);
    assert.ok(
      list.err.includes(`No known peers yet (in ${dir}/xdg/xmpp-e2e)`),
      list.err,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Ctrl-C stops a listener that waits for a peer, with exit code 130", async () => {
  const dir = await tempDir();
  try {
    const { listener } = await listening(JULIET, dir);
    listener.kill("SIGINT");
    const result = await listener.done();
    assert.equal(result.code, 130, result.err);
    assert.match(result.err, /Interrupted before any peer came/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connecting to a port where no one listens exits with the network code 3", async () => {
  const dir = await tempDir();
  try {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String((probe.addr as Deno.NetAddr).port);
    probe.close();
    const result = await cli(dialArgs("connect", port), dir).done();
    assert.equal(result.code, 3, result.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad arguments exit with the usage code 2 and point to --help", async () => {
  const cases: string[][] = [
    [],
    ["fly"],
    ["listen"],
    ["listen", "--as", "juliet@pronto", "--port", "70000"],
    ["listen", "--as", "juliet@pronto", "--colour", "red"],
    ["connect", "--as", "romeo@forza", "--to", "juliet@pronto"],
    ["connect", "--as", "@forza", "--to", "juliet@pronto", "--port", "1"],
    ["ping", "--as", "a@b", "--to", "c@d", "--port", "1", "--timeout", "0"],
    ["trust"],
    ["trust", "forget"],
    ["trust", "burn"],
    ["discover", "now"],
    ["discover", "--seconds", "0"],
  ];
  for (const args of cases.slice(1)) {
    const result = await cli(args).done();
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.err}`);
    assert.match(
      result.err,
      /\(see xmpp-e2e [a-z ]*--help\)\n$/,
      args.join(" "),
    );
    assert.equal(result.out, "");
  }
  // No subcommand at all prints the overview.
  const bare = await cli(cases[0]!).done();
  assert.equal(bare.code, 0);
  assert.match(bare.out, /^xmpp-e2e: end-to-end XMPP streams/);
});

Deno.test("every subcommand has --help", async () => {
  for (
    const command of ["listen", "connect", "ping", "send", "trust", "discover"]
  ) {
    const result = await cli([command, "--help"]).done();
    assert.equal(result.code, 0, command);
    assert.match(
      result.out,
      new RegExp(`^Usage: xmpp-e2e ${command}`),
      command,
    );
  }
  // discover itself browses the network: it is tested inside the link-local
  // tests' own network namespaces (tests/linklocal/netns/).
});

Deno.test("deno install makes an xmpp-e2e command that runs from anywhere", async () => {
  const dir = await tempDir();
  try {
    const root = new URL("../../", import.meta.url);
    const install = await new Deno.Command(Deno.execPath(), {
      args: [
        "install",
        "--global",
        "--root",
        dir,
        "--config",
        "deno.json",
        "--node-modules-dir=none",
        "--lock=deno.cli.lock",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "--name",
        "xmpp-e2e",
        "src/cli/main.ts",
      ],
      cwd: root,
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
    const bin = Deno.build.os === "windows"
      ? `${dir}\\bin\\xmpp-e2e.cmd`
      : `${dir}/bin/xmpp-e2e`;
    const run = await new Deno.Command(bin, {
      args: ["--version"],
      cwd: dir,
      env: {
        PATH: `${Deno.execPath().replace(/[\\/][^\\/]+$/, "")}:${
          Deno.env.get("PATH") ?? ""
        }`,
      },
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.match(
      new TextDecoder().decode(run.stdout),
      /^xmpp-e2e \d+\.\d+\.\d+\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
