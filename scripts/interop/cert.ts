/**
 * Makes a self-signed leaf certificate for interop tests with `openssl req
 * -x509`. It is a leaf, not a CA (rustls, which Deno's TLS uses, refuses a
 * CA:TRUE certificate as an end-entity certificate):
 *
 * - basicConstraints = critical, CA:FALSE
 * - keyUsage = digitalSignature, keyEncipherment
 * - extendedKeyUsage = serverAuth, clientAuth
 * - subjectAltName = DNS:<host>
 * - an EC P-256 key
 *
 * The extensions come from a config file written beside the key, so the
 * system openssl.cnf (whose `v3_ca` section would add CA:TRUE) plays no part.
 *
 * @module
 */

/** Files and PEM text of a certificate made by {@linkcode makeLeafCert}. */
export interface LeafCert {
  /** Path of the certificate (PEM). */
  certFile: string;
  /** Path of the private key (PEM, PKCS#8, unencrypted). */
  keyFile: string;
  /** The certificate, PEM. */
  certPem: string;
  /** The private key, PEM. */
  keyPem: string;
}

/**
 * Makes a key and a self-signed leaf certificate for `host` in `dir`.
 *
 * @param dir An existing directory for the files.
 * @param host The DNS name for the subject CN and subjectAltName.
 * @returns The file paths and their PEM text.
 * @throws {Error} When openssl fails.
 */
export async function makeLeafCert(
  dir: string,
  host: string,
): Promise<LeafCert> {
  const configFile = `${dir}/${host}.cnf`;
  const certFile = `${dir}/${host}.crt`;
  const keyFile = `${dir}/${host}.key`;
  await Deno.writeTextFile(
    configFile,
    [
      "[req]",
      "distinguished_name = dn",
      "x509_extensions = leaf",
      "prompt = no",
      "[dn]",
      `CN = ${host}`,
      "[leaf]",
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = digitalSignature,keyEncipherment",
      "extendedKeyUsage = serverAuth,clientAuth",
      `subjectAltName = DNS:${host}`,
      "subjectKeyIdentifier = hash",
      "",
    ].join("\n"),
  );
  await run("openssl", [
    "req",
    "-x509",
    "-config",
    configFile,
    "-extensions",
    "leaf",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-sha256",
  ]);
  return {
    certFile,
    keyFile,
    certPem: await Deno.readTextFile(certFile),
    keyPem: await Deno.readTextFile(keyFile),
  };
}

/**
 * Runs a command to its end, stdin closed.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param env Extra environment variables.
 * @returns Its stdout.
 * @throws {Error} With its output when it exits non-zero.
 */
export async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${out.code}\n` +
        `${stdout}\n${decoder.decode(out.stderr)}`,
    );
  }
  return stdout;
}
