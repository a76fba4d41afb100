import assert from "node:assert/strict";
import { A, B, Remote, ROOT, skipUnlessNetns } from "./_netns.ts";

const ignore = skipUnlessNetns("tests/linklocal/netns/cli_discover_test.ts");

Deno.test({
  name:
    "xmpp-e2e discover prints a peer advertised on the link, with its status, port and message",
  ignore,
  async fn() {
    const juliet = Remote.deno(B, "_advertiser.ts", [
      "juliet@pronto",
      B,
      "5298",
    ]);
    let discover: Remote | undefined;
    try {
      await juliet.line((l) => l.startsWith("advertised juliet@pronto"));
      discover = new Remote(
        A,
        [
          Deno.execPath(),
          "run",
          "-A",
          "--quiet",
          `--config=${ROOT}deno.json`,
          `${ROOT}src/cli/main.ts`,
          "discover",
          "--seconds",
          "4",
          "--interface",
          A,
        ],
        {},
        true,
      );
      const line = await discover.line((l) =>
        l.startsWith("appeared juliet@pronto")
      );
      assert.match(
        line,
        /^appeared juliet@pronto status=avail port=5298 169\.254\.77\.2.* "Wherefore art thou"$/,
      );
      await discover.line((l) => l === "1 peer found in 4 s");
      assert.equal((await discover.exited()).code, 0);
    } finally {
      await discover?.stop();
      await juliet.tell("close").catch(() => {});
      await juliet.stop();
    }
  },
});
