import assert from "node:assert/strict";
import { A, B, Remote, ROOT, skipUnlessNetns } from "./_netns.ts";

const ignore = skipUnlessNetns("tests/linklocal/netns/example_test.ts");

function chat(ns: string, name: string, dir: string): Remote {
  return new Remote(ns, [
    "sh",
    "-c",
    `cd ${dir} && exec "$@" 2>&1`,
    "sh",
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    `--config=${ROOT}deno.json`,
    `${ROOT}examples/link_local_chat.ts`,
    name,
    `--interface=${ns}`,
  ]);
}

Deno.test({
  name: "examples/link_local_chat.ts: two users find each other and chat",
  ignore,
  async fn() {
    const dirA = await Deno.makeTempDir();
    const dirB = await Deno.makeTempDir();
    const romeo = chat(A, "romeo@forza", dirA);
    const juliet = chat(B, "juliet@pronto", dirB);
    try {
      await romeo.line((l) => l === "* juliet@pronto is here");
      await juliet.line((l) => l === "* romeo@forza is here");
      await romeo.tell("/to juliet@pronto");
      await romeo.tell("Hello, fair Juliet");
      await juliet.line((l) => l === "romeo@forza: Hello, fair Juliet");
      await juliet.tell("/to romeo@forza");
      await juliet.tell("/status away On the balcony");
      await romeo.line((l) => l === "* juliet@pronto is away On the balcony");
      await juliet.tell("Wherefore art thou?");
      await romeo.line((l) => l === "juliet@pronto: Wherefore art thou?");
      await juliet.tell("/quit");
      await romeo.line((l) => l === "* juliet@pronto left");
      await romeo.tell("/quit");
      assert.equal((await romeo.exited()).code, 0);
      assert.equal((await juliet.exited()).code, 0);
      assert.ok(!romeo.seen.some((l) => l.includes("NOT encrypted")));
    } finally {
      await romeo.stop();
      await juliet.stop();
      await Deno.remove(dirA, { recursive: true });
      await Deno.remove(dirB, { recursive: true });
    }
  },
});
