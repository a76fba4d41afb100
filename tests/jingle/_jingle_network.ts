// A few clients, each with its own stream to a "server" that routes iqs
// between them by full JID and stamps the sender's full JID on them, as an
// XMPP server does: what the Jingle engine sees over a real server, with
// no server. A request to an address that is not online gets
// service-unavailable. Messages are routed the same way (and dropped when
// nobody is there); presences are not.

import { E2EStream, initiate } from "../../src/e2e.ts";
import { Session } from "../../src/stream/session.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { iq, message, type MessageType } from "../../src/stanza/stanza.ts";
import { Jid } from "../../src/stanza/jid.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { pair } from "../stream/_pair.ts";

export interface Client {
  /** The full JID. */
  jid: string;
  /** The client's stream to its server. */
  stream: E2EStream;
  /** The client's end of the wire: closing it makes the client vanish. */
  wire: Transport;
}

export interface Network {
  clients: Map<string, Client>;
  /** Closes every client stream in order. */
  close(): Promise<void>;
}

/** Clients by full JID, all online. */
export async function network(jids: string[]): Promise<Network> {
  const servers = new Map<string, E2EStream>();
  const clients = new Map<string, Client>();
  for (const full of jids) {
    const jid = Jid.parse(full);
    const [a, b] = pair();
    const session = new Session({
      role: "recipient",
      transport: b,
      from: jid.domain,
      tls: "off",
    });
    const [stream] = await Promise.all([
      initiate({
        transport: a,
        from: jid.bare.toString(),
        to: jid.domain,
        tls: "off",
      }),
      session.negotiate(),
    ]);
    const server = new E2EStream(session, { maxIqHandlers: 256 });
    servers.set(full, server);
    clients.set(full, { jid: full, stream, wire: a });
    server.onIq((request) => route(request, full, servers));
    server.stanzas$.subscribe({
      next: (stanza) => {
        if (stanza.name !== "message") return;
        const target = servers.get(stanza.attrs.to ?? "");
        if (target === undefined || target.state !== "open") return;
        target.send(
          message(
            {
              to: stanza.attrs.to,
              from: full,
              id: stanza.attrs.id,
              type: stanza.attrs.type as MessageType | undefined,
            },
            ...stanza.children,
          ),
        ).catch(() => {});
      },
      error: () => {},
    });
  }
  return {
    clients,
    async close() {
      await Promise.all(
        [...clients.values()].map(async (c) => {
          await c.stream.close();
        }),
      );
      await Promise.all([...servers.values()].map((s) => s.closed));
    },
  };
}

async function route(
  request: Element,
  from: string,
  servers: Map<string, E2EStream>,
): Promise<Element | StanzaError | undefined> {
  const to = request.attrs.to;
  if (to === undefined) return undefined; // for the server itself
  const target = servers.get(to);
  if (target === undefined || target.state !== "open") {
    return new StanzaError("service-unavailable");
  }
  return await forward(request, from, target);
}

/**
 * Sends `request` (from `from`) on to `target`, as a server routes it, and
 * turns the answer into the reply for `from`: a result with its children, or
 * its error (service-unavailable when it gave none).
 */
export async function forward(
  request: Element,
  from: string,
  target: E2EStream,
): Promise<Element | StanzaError> {
  const to = request.attrs.to!;
  let reply: Element;
  try {
    reply = await target.request(
      iq(
        { type: request.attrs.type as "get" | "set", to, from },
        ...request.children,
      ),
    );
  } catch (error) {
    if (error instanceof StanzaError) {
      return new StanzaError(error.condition, {
        type: error.type,
        text: error.text,
        application: error.application,
      });
    }
    return new StanzaError("service-unavailable");
  }
  return iq(
    { type: "result", id: request.attrs.id, to: from, from: to },
    ...reply.children,
  );
}
