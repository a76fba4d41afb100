/**
 * Assembles the WebAssembly module behind `src/xml/_scan.ts`: a search, 16
 * bytes at a time (SIMD), for the first byte of UTF-8 input that encodes no
 * XML character. Written out here op by op, so that the module can be read
 * and changed; the bytes land in `src/xml/_scan_wasm.ts`, and a test checks
 * that they are still what this script makes.
 *
 *     deno run --allow-write scripts/wasm/scan_wasm.ts
 *
 * The module exports its memory (one page) and `scan(len)`: the offset of
 * the first 16-byte block of `memory[0, len)` holding a C0 control other
 * than tab, line feed and carriage return, or the start of EF BF BE or EF BF
 * BF (U+FFFE, U+FFFF); -1 if none. Blocks are read two at a time (one test
 * for both whether they may hold one, the exact test only then), whole, and
 * the check for U+FFFE/F reads two bytes past each block: the caller puts
 * the two bytes that follow the input there, then spaces up to the end of
 * the last step and two bytes past it.
 *
 * @module
 */

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && (byte & 0x40))) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const section = (id: number, body: number[]) => [
  id,
  ...leb(body.length),
  ...body,
];
const name = (text: string) => {
  const bytes = [...new TextEncoder().encode(text)];
  return [...leb(bytes.length), ...bytes];
};

// Instructions (the SIMD ones behind the 0xFD prefix).
const simd = (op: number) => [0xfd, ...leb(op)];
const v128Load = (
  offset: number,
) => [...simd(0x00), 0, /* align 1 */ ...leb(offset)];
const bytes16 = (byte: number) => [...simd(0x0c), ...Array(16).fill(byte)];
const i8x16Eq = simd(0x23);
const i8x16LtU = simd(0x26);
const v128And = simd(0x4e);
const v128AndNot = simd(0x4f);
const v128Or = simd(0x50);
const v128AnyTrue = simd(0x53);
const localGet = (i: number) => [0x20, ...leb(i)];
const localSet = (i: number) => [0x21, ...leb(i)];
const localTee = (i: number) => [0x22, ...leb(i)];
const i32Const = (n: number) => [0x41, ...sleb(n)];
const i32Add = [0x6a];
const i32LtU = [0x49];
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const ifThen = [0x04, 0x40];
const brIf = (depth: number) => [0x0d, depth];
const ret = [0x0f];
const end = [0x0b];

// Locals: the parameter, then the declared ones.
const LEN = 0;
const AT = 1; // i32: the block's offset
const BLOCK = 2; // v128: its bytes
const SPACES = 3; // v128: 0x20 in every byte, made once
const LFS = 4; // v128: 0x0A
const EFS = 5; // v128: 0xEF
const NEXT = 6; // v128: the bytes of the block after BLOCK
const TABS = 7; // v128: 0x09
const CRS = 8; // v128: 0x0D
const BFS = 9; // v128: 0xBF
const ONES = 10; // v128: 0x01

/** The bytes of the block in local `v` equal to those of local `c`. */
const equals = (v: number, c: number) => [
  ...localGet(v),
  ...localGet(c),
  ...i8x16Eq,
];

/** Which bytes of the block in `v` may be bad: C0 controls but LF, 0xEF. */
const suspect = (v: number) => [
  ...localGet(v),
  ...localGet(SPACES),
  ...i8x16LtU,
  ...equals(v, LFS),
  ...v128AndNot,
  ...equals(v, EFS),
  ...v128Or,
];

/**
 * Whether the block in `v`, at `offset` from AT, has a bad byte: a C0
 * control but TAB, LF, CR; EF BF BE; EF BF BF.
 */
const bad = (v: number, offset: number) => [
  ...localGet(v),
  ...localGet(SPACES),
  ...i8x16LtU,
  ...equals(v, TABS),
  ...equals(v, LFS),
  ...v128Or,
  ...equals(v, CRS),
  ...v128Or,
  ...v128AndNot,
  ...equals(v, EFS),
  ...localGet(AT),
  ...v128Load(offset + 1),
  ...localGet(BFS),
  ...i8x16Eq,
  ...v128And,
  // BE or BF: BF once the low bit is set.
  ...localGet(AT),
  ...v128Load(offset + 2),
  ...localGet(ONES),
  ...v128Or,
  ...localGet(BFS),
  ...i8x16Eq,
  ...v128And,
  ...v128Or,
  ...v128AnyTrue,
];

/** Sets local `c` to `byte` in every byte. */
const constant = (c: number, byte: number) => [
  ...bytes16(byte),
  ...localSet(c),
];

const scanBody = [
  0x02, // two runs of locals:
  0x01,
  0x7f, // one i32 (AT, from 0),
  0x09,
  0x7b, // nine v128 (the two blocks, the constants)
  ...constant(SPACES, 0x20),
  ...constant(LFS, 0x0a),
  ...constant(EFS, 0xef),
  ...constant(TABS, 0x09),
  ...constant(CRS, 0x0d),
  ...constant(BFS, 0xbf),
  ...constant(ONES, 0x01),
  ...block,
  ...loop,
  ...localGet(AT),
  ...v128Load(0),
  ...localSet(BLOCK),
  ...localGet(AT),
  ...v128Load(16),
  ...localSet(NEXT),
  ...suspect(BLOCK),
  ...suspect(NEXT),
  ...v128Or,
  ...v128AnyTrue,
  ...ifThen,
  ...bad(BLOCK, 0),
  ...ifThen,
  ...localGet(AT),
  ...ret,
  ...end,
  ...bad(NEXT, 16),
  ...ifThen,
  ...localGet(AT),
  ...i32Const(16),
  ...i32Add,
  ...ret,
  ...end,
  ...end,
  ...localGet(AT),
  ...i32Const(32),
  ...i32Add,
  ...localTee(AT),
  ...localGet(LEN),
  ...i32LtU,
  ...brIf(0),
  ...end,
  ...end,
  ...i32Const(-1),
  ...end,
];

/** The module's bytes. */
export function assemble(): Uint8Array {
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
    ...section(1, [0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]), // (i32) -> i32
    ...section(3, [0x01, 0x00]), // one function of that type
    ...section(5, [0x01, 0x00, 0x01]), // one memory, one page
    ...section(7, [
      0x02,
      ...name("memory"),
      0x02,
      0x00,
      ...name("scan"),
      0x00,
      0x00,
    ]),
    ...section(10, [0x01, ...leb(scanBody.length), ...scanBody]),
  ]);
}

/** The TypeScript module that carries the bytes. */
export function source(bytes: Uint8Array): string {
  const rows: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    rows.push("  " + [...bytes.subarray(i, i + 16)].join(", ") + ",");
  }
  return `// Generated by scripts/wasm/scan_wasm.ts: do not edit. The WebAssembly
// module behind _scan.ts (see the script for what it does, op by op).
// Private module.

/** The module's bytes. */
// deno-fmt-ignore
export const SCAN_WASM: Uint8Array = new Uint8Array([
${rows.join("\n")}
]);
`;
}

if (import.meta.main) {
  const target = new URL("../../src/xml/_scan_wasm.ts", import.meta.url);
  await Deno.writeTextFile(target, source(assemble()));
}
