/**
 * `openssl s_client` as an independent XMPP STARTTLS initiator: it sends a
 * `jabber:client` stream header, waits for `<starttls>` in the features,
 * sends `<starttls/>`, waits for `<proceed/>` and does the TLS handshake.
 * Its stdin is closed once the handshake is reported (or after a short
 * delay), so it sends close_notify and exits.
 *
 * @module
 */

/** Options of {@linkcode runOpensslStartTls}. */
export interface OpensslOptions {
  /** A CA (or the self-signed leaf) to verify the peer with; the hostname is then checked too. */
  caFile?: string;
  /** Kill openssl after this long. Default 10 s. */
  timeoutMs?: number;
  /** Close stdin this long after start if no handshake was seen. Default 3 s. */
  closeAfterMs?: number;
}

/** What `openssl s_client` did. */
export interface OpensslResult {
  /** Its exit code (137 or similar when killed on timeout). */
  code: number;
  /** Its stdout. */
  stdout: string;
  /** Its stderr (with `-brief`, the connection summary is here). */
  stderr: string;
  /** Whether it was killed on timeout. */
  timedOut: boolean;
}

const ESTABLISHED = "CONNECTION ESTABLISHED";

/**
 * Runs `openssl s_client -starttls xmpp -xmpphost <host> -connect
 * 127.0.0.1:<port> -brief` until the handshake is done (then closes stdin),
 * or until the timeout kills it.
 *
 * @param port The recipient's port on 127.0.0.1.
 * @param host The XMPP domain for the header's `to` (and SNI, and the
 * hostname check when `caFile` is given).
 * @param options CA, timeouts.
 * @returns Exit code and output.
 */
export async function runOpensslStartTls(
  port: number,
  host: string,
  options: OpensslOptions = {},
): Promise<OpensslResult> {
  const args = [
    "s_client",
    "-starttls",
    "xmpp",
    "-xmpphost",
    host,
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    host,
    "-brief",
  ];
  if (options.caFile !== undefined) {
    args.push("-CAfile", options.caFile, "-verify_hostname", host);
  }
  const child = new Deno.Command("openssl", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  let stdinClosed = false;
  const closeStdin = () => {
    if (stdinClosed) return;
    stdinClosed = true;
    stdin.close().catch(() => {});
  };

  let stdout = "";
  let stderr = "";
  const collect = async (
    stream: ReadableStream<Uint8Array>,
    add: (text: string) => void,
  ) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      add(decoder.decode(chunk, { stream: true }));
      // -brief prints this to stderr when the handshake is done.
      if ((stdout + stderr).includes(ESTABLISHED)) closeStdin();
    }
  };
  const drained = Promise.all([
    collect(child.stdout, (t) => stdout += t),
    collect(child.stderr, (t) => stderr += t),
  ]);

  let timedOut = false;
  const closeTimer = setTimeout(closeStdin, options.closeAfterMs ?? 3_000);
  const killTimer = setTimeout(() => {
    timedOut = true;
    closeStdin();
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, options.timeoutMs ?? 10_000);
  try {
    const status = await child.status;
    await drained;
    return { code: status.code, stdout, stderr, timedOut };
  } finally {
    clearTimeout(closeTimer);
    clearTimeout(killTimer);
    closeStdin();
  }
}
