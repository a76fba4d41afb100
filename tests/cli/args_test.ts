import assert from "node:assert/strict";
import { HELP, parse } from "../../src/cli/args.ts";
import { UsageError } from "../../src/cli/exit.ts";

Deno.test("parse() reads connect's options, normalises the addresses and dials the domain of --to by default", () => {
  assert.deepEqual(
    parse([
      "connect",
      "--as",
      "Romeo@Forza",
      "--to",
      "juliet@PRONTO",
      "--port",
      "5299",
    ]),
    {
      command: "connect",
      as: "romeo@forza",
      to: "juliet@pronto",
      host: "pronto",
      port: 5299,
      timeoutSeconds: 10,
      text: undefined,
      configDir: undefined,
    },
  );
});

Deno.test("parse() gives listen port 0 and the loopback address unless told otherwise", () => {
  assert.deepEqual(parse(["listen", "--as", "juliet@pronto"]), {
    command: "listen",
    as: "juliet@pronto",
    host: "127.0.0.1",
    port: 0,
    configDir: undefined,
  });
});

Deno.test("parse() joins the words of send into one message", () => {
  const args = parse([
    "send",
    "--as",
    "a@b",
    "--to",
    "c@d",
    "--port",
    "1",
    "so",
    "long",
  ]);
  assert.equal("text" in args && args.text, "so long");
});

Deno.test("parse() refuses what it cannot use with a UsageError naming the subcommand", () => {
  for (
    const [argv, command] of [
      [["connect", "--as", "a@b", "--to", "c@d", "--port", "0"], "connect"],
      [["connect", "--as", "a@b", "--to", "c@d", "--port", "1x"], "connect"],
      [["send", "--as", "a@b", "--to", "c@d"], "send"],
      [
        ["ping", "--as", "a@b", "--to", "c@d", "--port", "1", "--timeout", "x"],
        "ping",
      ],
      [["listen", "--as", "a@b", "extra"], "listen"],
      [["trust", "list", "x@y"], "trust"],
      [["nope"], undefined],
    ] as const
  ) {
    assert.throws(
      () => parse([...argv]),
      (error: unknown) =>
        error instanceof UsageError && error.command === command,
      argv.join(" "),
    );
  }
});

Deno.test("parse() answers --help anywhere on the line with that subcommand's help", () => {
  assert.deepEqual(parse(["ping", "--port", "x", "--help"]), {
    command: "help",
    text: HELP.ping,
  });
  assert.deepEqual(parse(["help", "trust"]), {
    command: "help",
    text: HELP.trust,
  });
});
