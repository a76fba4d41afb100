// One node:tls SecureContext for every connection with the same key,
// certificate and trust anchors, instead of one per connection: node:tls
// makes a context for each socket it is not given one, and that context
// (with its own copy of the settings, functions and internal slots) lives
// as long as the socket. Contexts are held weakly: one that no socket uses
// any more is collected, and with it the settings it holds.

import * as tls from "node:tls";

/** What a context is made of: the parts of the options that go into it. */
export interface ContextSettings {
  /** Trust anchors (PEM), or undefined for the default root store. */
  ca?: string[] | undefined;
  /** Own certificate chain (PEM). */
  cert?: string | undefined;
  /** Own private key (PEM). */
  key?: string | undefined;
}

// At most this many contexts are looked up; a process uses one or two.
const MAX_CONTEXTS = 8;

const contexts: WeakRef<tls.SecureContext>[] = [];
const settingsOf = new WeakMap<tls.SecureContext, ContextSettings>();

function sameCa(a: string[] | undefined, b: string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) {
    return false;
  }
  return a.every((pem, i) => pem === b[i]);
}

function same(a: ContextSettings, b: ContextSettings): boolean {
  return a.cert === b.cert && a.key === b.key && sameCa(a.ca, b.ca);
}

/**
 * The context for `settings`: one already in use by a connection with the
 * same settings, or a new one.
 *
 * @param settings Trust anchors, certificate and key.
 * @returns A context node:tls can share between sockets.
 * @throws {Error} What `tls.createSecureContext()` throws for bad PEM.
 */
export function secureContext(settings: ContextSettings): tls.SecureContext {
  for (let i = contexts.length - 1; i >= 0; i--) {
    const context = contexts[i]!.deref();
    if (context === undefined) {
      contexts.splice(i, 1);
      continue;
    }
    if (same(settingsOf.get(context)!, settings)) return context;
  }
  const options: tls.SecureContextOptions = {};
  if (settings.ca !== undefined) options.ca = settings.ca;
  if (settings.cert !== undefined) options.cert = settings.cert;
  if (settings.key !== undefined) options.key = settings.key;
  const context = tls.createSecureContext(options);
  settingsOf.set(context, {
    ca: settings.ca?.slice(),
    cert: settings.cert,
    key: settings.key,
  });
  contexts.push(new WeakRef(context));
  if (contexts.length > MAX_CONTEXTS) contexts.shift();
  return context;
}
