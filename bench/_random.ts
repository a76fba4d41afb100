/**
 * Seeded randomness and text pools for the bench corpora. Everything here is
 * deterministic: the same seed gives the same bytes on every machine.
 *
 * @module
 */

/** A seeded pseudo-random source (mulberry32). */
export class Random {
  #state: number;

  /**
   * Makes a source.
   *
   * @param seed Any 32-bit integer.
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * A float in [0, 1).
   *
   * @returns The next number.
   */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * An integer in [min, max].
   *
   * @param min Smallest value.
   * @param max Largest value.
   * @returns The next integer.
   */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /**
   * One item of a non-empty list.
   *
   * @param items The list.
   * @returns One of its items.
   */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /**
   * True with probability `p`.
   *
   * @param p Probability in [0, 1].
   * @returns The draw.
   */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * An identifier of letters and digits.
   *
   * @param length Its length.
   * @returns The identifier.
   */
  id(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) {
      out += ALNUM[this.int(0, ALNUM.length - 1)];
    }
    return out;
  }

  /**
   * Base64 text (as in IBB or OMEMO payloads), without line breaks.
   *
   * @param length Number of characters, rounded down to a multiple of 4.
   * @returns The text.
   */
  base64(length: number): string {
    const parts: string[] = [];
    for (let i = 0; i < length - (length % 4); i++) {
      parts.push(B64[this.int(0, 63)] as string);
    }
    return parts.join("");
  }
}

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Phrases of chat text, already escaped for XML: plain ASCII, the five
 * predefined entities, character references, accents, CJK, RTL and emoji.
 */
export const PHRASES: readonly string[] = [
  "Hello, are you there?",
  "See you tomorrow at the station",
  "Tom &amp; Jerry are coming too",
  "if (a &lt; b &amp;&amp; c &gt; d) return;",
  "she said &quot;wherefore art thou&quot;",
  "it&apos;s fine",
  "smile &#x263A; please",
  "caf&#233; cr&#xE8;me",
  "emoji by reference &#x1F600;",
  "Ça va très bien, à demain !",
  "Größe, Übung, Straße",
  "¿Dónde está la biblioteca?",
  "你好，世界。今天天气很好。",
  "こんにちは、元気ですか？",
  "안녕하세요, 반갑습니다",
  "Привет, как дела?",
  "مرحبا بالعالم",
  "😀🎉👍 party time 🚀",
  "the quick brown fox jumps over the lazy dog",
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit",
  "ping\nwith a second line\r\nand a third",
  "tab\tseparated\tvalues",
];

/**
 * Several phrases joined by spaces.
 *
 * @param random The source.
 * @param min Fewest phrases.
 * @param max Most phrases.
 * @returns Escaped text.
 */
export function sentence(random: Random, min: number, max: number): string {
  const count = random.int(min, max);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(random.pick(PHRASES));
  return parts.join(" ");
}

/**
 * An attribute with a randomly chosen quote style; the value must already be
 * escaped for both styles (no raw `'` or `"`).
 *
 * @param random The source.
 * @param name Attribute name.
 * @param value Escaped value.
 * @returns ` name='value'` or ` name="value"`.
 */
export function attr(random: Random, name: string, value: string): string {
  return random.chance(0.5) ? ` ${name}='${value}'` : ` ${name}="${value}"`;
}

/**
 * Whitespace between stanzas, as servers and clients send it.
 *
 * @param random The source.
 * @returns Zero or more whitespace characters.
 */
export function gap(random: Random): string {
  return random.pick(["", "", "\n", "\n", " ", "\r\n", "\n  ", "\t"]);
}
