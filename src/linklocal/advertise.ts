/**
 * Advertising ourselves as a `_presence._tcp` service (XEP-0174) with
 * `@homebridge/ciao`, an mDNS responder that probes (RFC 6762 section 8),
 * announces, answers with known-answer suppression, defends its names and
 * says goodbye (TTL 0) when it stops. On a name conflict the instance is
 * renamed as XEP-0174 asks: `juliet@pronto` becomes `juliet-1@pronto`,
 * then `juliet-2@pronto`.
 *
 * @module
 */

/**
 * RxJS's types are documented by the rxjs package: `@ignore` tells
 * `deno doc --lint` not to ask this package to export them.
 * @ignore
 */
import { type Observable, Subject } from "rxjs";
import ciao from "@homebridge/ciao";
import { MdnsError } from "./_mdns_socket.ts";
import { type PresenceInfo, presenceTxt } from "./txt.ts";

/** Options of {@linkcode advertise}. */
export interface AdvertiseOptions {
  /** The service instance name, `user@machine`. */
  name: string;
  /** The port we listen on (SRV and `port.p2pj`). */
  port: number;
  /** What the TXT record says (personal fields only when given). */
  presence?: PresenceInfo;
  /** Interfaces to advertise on. Default: every one but loopback. */
  interfaces?: string[];
  /** The host name of the SRV record, without `.local`. Default: `machine`. */
  hostname?: string;
}

/** The parts of a ciao service this file reaches into (ciao 1.3.12). */
interface CiaoInternals {
  name: string;
  hostname: string;
  loweredHostname: string;
  fqdn: string;
  loweredFqdn: string;
  formatFQDN(): string;
  rebuildServiceRecords(): void;
  incrementName(nameCheckOnly: boolean): void;
}

const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Splits `user@machine`; the machine part may not hold `@` or `.`.
 *
 * @param name The instance name.
 * @returns Its two parts.
 * @throws {TypeError} When it is not of that form.
 */
export function splitInstance(name: string): { user: string; machine: string } {
  const at = name.lastIndexOf("@");
  const user = name.slice(0, at);
  const machine = name.slice(at + 1);
  if (at <= 0 || machine.length === 0 || /[.@\s]/.test(machine)) {
    throw new TypeError(
      `Cannot advertise ${JSON.stringify(name)}: the name must be user@machine`,
    );
  }
  return { user, machine };
}

/** Our advertisement on the link, until {@linkcode Advertisement.close}. */
export class Advertisement {
  readonly #responder: ReturnType<typeof ciao.getResponder>;
  readonly #service: ReturnType<
    ReturnType<typeof ciao.getResponder>["createService"]
  >;
  readonly #port: number;
  readonly #renamed = new Subject<string>();
  #name: string;
  #closing: Promise<void> | undefined;

  /** @internal */
  constructor(
    responder: ReturnType<typeof ciao.getResponder>,
    service: ReturnType<ReturnType<typeof ciao.getResponder>["createService"]>,
    name: string,
    port: number,
  ) {
    this.#responder = responder;
    this.#service = service;
    this.#name = name;
    this.#port = port;
    service.on("name-change", (next: string) => {
      this.#name = next;
      this.#renamed.next(next);
    });
  }

  /** The instance name as advertised (renamed after a conflict). */
  get name(): string {
    return this.#name;
  }

  /** The new name each time a conflict renames the instance. */
  get renamed$(): Observable<string> {
    return this.#renamed.asObservable();
  }

  /**
   * Publishes a new TXT record (a presence change), announced at once.
   *
   * @param presence What to publish now.
   * @throws {TypeError} When the record would be too large.
   */
  update(presence: PresenceInfo): void {
    const txt = Object.fromEntries(presenceTxt(presence, this.#port));
    this.#service.updateTxt(txt);
  }

  /**
   * Says goodbye (the records with TTL 0) and stops. Idempotent.
   *
   * @returns Resolves once the goodbye went out and the sockets closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#service.end();
        await this.#service.destroy();
      } finally {
        await this.#responder.shutdown();
        this.#renamed.complete();
      }
    })();
    return this.#closing;
  }
}

/**
 * Advertises a `_presence._tcp` instance: probes its names, renames it on
 * a conflict, announces it, and answers queries until closed. Needs
 * `--allow-net` and `--allow-sys` (to list the interfaces).
 *
 * @param options Name, port, presence, interfaces.
 * @returns Once announced: the advertisement, with the name it got.
 * @throws {TypeError} When the name is not `user@machine`, or the TXT
 *   record would be too large.
 * @throws {MdnsError} When advertising fails.
 *
 * @example Advertise, go away, then leave
 * ```ts ignore
 * import { advertise } from "@xmpp-e2e/streams/linklocal";
 *
 * const ad = await advertise({ name: "juliet@pronto", port: 5562 });
 * console.log("advertised as", ad.name); // juliet-1@pronto after a conflict
 * ad.update({ status: "away", msg: "On the balcony" });
 * await ad.close(); // goodbye
 * ```
 */
export async function advertise(
  options: AdvertiseOptions,
): Promise<Advertisement> {
  const { user, machine } = splitInstance(options.name);
  const txt = Object.fromEntries(
    presenceTxt(options.presence ?? {}, options.port),
  );
  const responder = ciao.getResponder(
    options.interfaces !== undefined ? { interface: options.interfaces } : {},
  );
  let service;
  try {
    service = responder.createService({
      name: options.name,
      type: "presence",
      protocol: "tcp" as never,
      port: options.port,
      hostname: options.hostname ?? machine,
      txt,
    });
  } catch (cause) {
    await responder.shutdown();
    throw new MdnsError(`Cannot advertise ${options.name}`, { cause });
  }
  renameAsXep0174(service as unknown as CiaoInternals, user, machine);
  const advertisement = new Advertisement(
    responder,
    service,
    options.name,
    options.port,
  );
  try {
    await service.advertise();
  } catch (cause) {
    await advertisement.close().catch(() => {});
    throw new MdnsError(`Cannot advertise ${options.name}`, { cause });
  }
  return advertisement;
}

/**
 * ciao renames `name` to `name (2)` on a conflict, which is no address;
 * XEP-0174 section 4 asks for `user-1@machine`. Each conflict ciao reports
 * (it calls `incrementName(false)`) gets the next number.
 */
function renameAsXep0174(
  service: CiaoInternals,
  user: string,
  machine: string,
): void {
  const original = service.incrementName;
  const host = service.hostname; // "machine.local."
  const dot = host.indexOf(".");
  let n = 0;
  service.incrementName = function (nameCheckOnly: boolean) {
    original.call(this, nameCheckOnly);
    if (!nameCheckOnly) n++;
    const suffix = n === 0 ? "" : `-${n}`;
    const name = `${user}${suffix}@${machine}`;
    const hostname = `${host.slice(0, dot)}${suffix}${host.slice(dot)}`;
    if (this.name === name && this.hostname === hostname) return;
    this.name = name;
    this.fqdn = this.formatFQDN();
    this.loweredFqdn = asciiLower(this.fqdn);
    this.hostname = hostname;
    this.loweredHostname = asciiLower(hostname);
    if (!nameCheckOnly) this.rebuildServiceRecords();
  };
}
