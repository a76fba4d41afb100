// The runtime's base64 codec, where used, agrees with the portable, strict
// one (SASL messages and IBB data packets go through both).

import assert from "node:assert/strict";
import {
  decodeBase64,
  encodeBase64,
  portableDecodeBase64 as portableDecode,
  portableEncodeBase64 as portableEncode,
} from "../../src/sasl/_base64.ts";

Deno.test("the base64 codec encodes as the portable one does, at every length", () => {
  for (let size = 0; size < 70; size++) {
    const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 73) & 0xff);
    assert.equal(encodeBase64(bytes), portableEncode(bytes));
    assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
  }
});

Deno.test("the base64 codec refuses what the portable one refuses", () => {
  for (
    const text of [
      "A",
      "AA",
      "AAA",
      "AB==",
      "AAB=",
      "A@==",
      "AA AA",
      "AA==\n",
      "====",
      "AA=A",
    ]
  ) {
    assert.equal(portableDecode(text), undefined, text);
    assert.equal(decodeBase64(text), undefined, text);
  }
});
