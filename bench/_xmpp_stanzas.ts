/**
 * Generators of realistic XMPP stanzas for the bench corpora.
 *
 * @module
 */

import { attr, type Random, sentence } from "./_random.ts";

const USERS = [
  "juliet@capulet.lit",
  "romeo@montague.lit",
  "nurse@capulet.lit",
  "mercutio@montague.lit",
  "benvolio@montague.lit",
  "tybalt@capulet.lit",
  "élodie@exemple.fr",
  "小明@例子.中国",
];
const RESOURCES = [
  "balcony",
  "orchard",
  "phone",
  "laptop",
  "Gajim.XY12",
  "Conversations.9f",
];
const NAMES = [
  "Juliet",
  "Romeo",
  "The Nurse",
  "O&apos;Brien",
  "&quot;Mercutio&quot;",
  "Élodie",
  "小明",
];
const GROUPS = [
  "Friends",
  "Family",
  "Capulets &amp; Montagues",
  "Verona",
  "Travail",
];
const FEATURES = [
  "http://jabber.org/protocol/caps",
  "http://jabber.org/protocol/chatstates",
  "http://jabber.org/protocol/disco#info",
  "http://jabber.org/protocol/disco#items",
  "urn:xmpp:ping",
  "urn:xmpp:receipts",
  "urn:xmpp:time",
  "jabber:iq:version",
  "urn:xmpp:mam:2",
  "urn:xmpp:carbons:2",
];

function jid(random: Random, full: boolean): string {
  const bare = random.pick(USERS);
  return full ? `${bare}/${random.pick(RESOURCES)}` : bare;
}

function stamp(random: Random): string {
  const day = String(random.int(1, 28)).padStart(2, "0");
  const hour = String(random.int(0, 23)).padStart(2, "0");
  const min = String(random.int(0, 59)).padStart(2, "0");
  return `2024-03-${day}T${hour}:${min}:${min}.${random.int(100, 999)}Z`;
}

function addressing(random: Random): string {
  return attr(random, "from", jid(random, true)) +
    attr(random, "to", jid(random, random.chance(0.7))) +
    attr(random, "id", random.id(random.int(8, 16)));
}

function chatMessage(random: Random): string {
  let out = `<message${attr(random, "type", "chat")}${addressing(random)}`;
  if (random.chance(0.3)) {
    out += attr(random, "xml:lang", random.pick(["en", "fr", "de", "zh"]));
  }
  out += `><body>${sentence(random, 1, 12)}</body>`;
  if (random.chance(0.4)) out += `<thread>${random.id(24)}</thread>`;
  out += `<${
    random.pick(["active", "composing", "paused"])
  } xmlns='http://jabber.org/protocol/chatstates'/>`;
  if (random.chance(0.5)) out += `<request xmlns="urn:xmpp:receipts"/>`;
  if (random.chance(0.5)) {
    out += `<origin-id xmlns='urn:xmpp:sid:0'${
      attr(random, "id", random.id(20))
    }/>`;
  }
  if (random.chance(0.3)) {
    out +=
      `<delay xmlns='urn:xmpp:delay'${attr(random, "from", "capulet.lit")}` +
      `${attr(random, "stamp", stamp(random))}>Offline Storage</delay>`;
  }
  return out + "</message>";
}

function groupchatMessage(random: Random): string {
  return `<message type="groupchat"${addressing(random)}>` +
    `<body>${sentence(random, 1, 6)}</body>` +
    `<x xmlns='http://jabber.org/protocol/muc#user'><item` +
    `${attr(random, "affiliation", random.pick(["member", "owner", "none"]))}` +
    `${attr(random, "role", "participant")}/></x>` +
    `<stanza-id xmlns='urn:xmpp:sid:0' by='verona@conference.capulet.lit'` +
    `${attr(random, "id", random.id(16))}/></message>`;
}

function presence(random: Random): string {
  let out = `<presence${attr(random, "from", jid(random, true))}`;
  if (random.chance(0.3)) out += attr(random, "to", jid(random, false));
  out += ">";
  if (random.chance(0.6)) {
    out += `<show>${random.pick(["away", "chat", "dnd", "xa"])}</show>`;
  }
  if (random.chance(0.6)) out += `<status>${sentence(random, 1, 3)}</status>`;
  out += `<priority>${random.int(-1, 50)}</priority>`;
  out +=
    `<c xmlns='http://jabber.org/protocol/caps'${
      attr(random, "hash", "sha-1")
    }` +
    `${attr(random, "node", "https://gajim.org")}${
      attr(random, "ver", random.base64(28))
    }/>`;
  if (random.chance(0.3)) {
    out += `<delay xmlns="urn:xmpp:delay"${
      attr(random, "stamp", stamp(random))
    }/>`;
  }
  return out + "</presence>";
}

function rosterResult(random: Random): string {
  let out =
    `<iq type='result'${addressing(random)}><query xmlns='jabber:iq:roster'` +
    `${attr(random, "ver", random.id(10))}>`;
  const items = random.int(2, 25);
  for (let i = 0; i < items; i++) {
    out +=
      `<item${attr(random, "jid", jid(random, false))}${
        attr(random, "name", random.pick(NAMES))
      }` +
      `${
        attr(
          random,
          "subscription",
          random.pick(["both", "to", "from", "none"]),
        )
      }>`;
    const groups = random.int(0, 2);
    for (let g = 0; g < groups; g++) {
      out += `<group>${random.pick(GROUPS)}</group>`;
    }
    out += "</item>";
  }
  return out + "</query></iq>";
}

function discoResult(random: Random): string {
  let out = `<iq type="result"${addressing(random)}>` +
    `<query xmlns='http://jabber.org/protocol/disco#info'${
      attr(random, "node", "https://gajim.org#abc")
    }>` +
    `<identity category='client' type='pc'${
      attr(random, "name", "Gajim &amp; friends")
    }/>`;
  for (const feature of FEATURES) {
    if (random.chance(0.8)) out += `<feature${attr(random, "var", feature)}/>`;
  }
  out +=
    `<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>` +
    `<value>urn:xmpp:dataforms:softwareinfo</value></field>` +
    `<field var='os'><value>Linux</value></field></x>`;
  return out + "</query></iq>";
}

function ping(random: Random): string {
  return `<iq type='get'${
    addressing(random)
  }><ping xmlns='urn:xmpp:ping'/></iq>`;
}

function emptyResult(random: Random): string {
  return `<iq type='result'${addressing(random)}/>`;
}

function carbon(random: Random): string {
  return `<message${addressing(random)}><sent xmlns='urn:xmpp:carbons:2'>` +
    `<forwarded xmlns='urn:xmpp:forward:0'>` +
    chatMessage(random).replace("<message", "<message xmlns='jabber:client'") +
    `</forwarded>` +
    `</sent></message>`;
}

const KINDS: readonly ((random: Random) => string)[] = [
  chatMessage,
  chatMessage,
  chatMessage,
  chatMessage,
  groupchatMessage,
  groupchatMessage,
  presence,
  presence,
  presence,
  ping,
  emptyResult,
  rosterResult,
  discoResult,
  carbon,
];

/**
 * One stanza of a realistic client-to-server mix.
 *
 * @param random The source.
 * @returns The stanza's XML text.
 */
export function xmppStanza(random: Random): string {
  return random.pick(KINDS)(random);
}

/**
 * The initial stream header, with the XML declaration.
 *
 * @returns The header text.
 */
export function streamHeader(): string {
  return `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' from="capulet.lit" ` +
    `to='juliet@capulet.lit' id='++TR84Sm6A3hnt3Q065SnAbbk3Y=' ` +
    `version='1.0' xml:lang='en'>`;
}

/** The stream close tag. */
export const STREAM_CLOSE = "</stream:stream>";
