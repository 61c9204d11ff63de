// Offline check-in: the same verdict the server gives (checkin/services.py), from a bundle the
// scanner downloaded while online. The payload format is documented in checkin/README.md:
//   version:1 | kid:4 | event:16 | ticket:16 | tier:16 | issued_at:4 | Ed25519 signature:64
// Version 2 (a ticket on an assigned seat) adds seat length:1 | seat label (UTF-8) before the
// signature. The signature covers everything before it; WebCrypto ("Ed25519") checks it.

const PAYLOAD_BYTES = 121;
const HEADER_BYTES = 57;
const MAX_SEAT_BYTES = 60;

export function b64urlDecode(text) {
  const clean = text.trim().replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*$/.test(clean)) return null;
  let binary;
  try {
    binary = atob(clean + "=".repeat((4 - (clean.length % 4)) % 4));
  } catch (_) {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
function uuid(bytes) {
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function decodePayload(payload) {
  const raw = b64urlDecode(payload || "");
  if (!raw) return null;
  let signedBytes = HEADER_BYTES;
  let seat = "";
  if (raw.length === PAYLOAD_BYTES && raw[0] === 1) {
    signedBytes = HEADER_BYTES;
  } else if (raw.length > PAYLOAD_BYTES + 1 && raw[0] === 2) {
    const seatBytes = raw[HEADER_BYTES];
    signedBytes = HEADER_BYTES + 1 + seatBytes;
    if (seatBytes < 1 || seatBytes > MAX_SEAT_BYTES || raw.length !== signedBytes + 64) return null;
    seat = new TextDecoder().decode(raw.slice(HEADER_BYTES + 1, signedBytes));
  } else {
    return null;
  }
  return {
    kid: hex(raw.slice(1, 5)),
    eventId: uuid(raw.slice(5, 21)),
    ticketId: uuid(raw.slice(21, 37)),
    tierId: uuid(raw.slice(37, 53)),
    seat,
    signed: raw.slice(0, signedBytes),
    signature: raw.slice(signedBytes),
  };
}

// The door's language where the page's catalogue is loaded (static/js/ui.js); English in tests
// that run this module without a page.
const gettext = globalThis.gettext || ((text) => text);
const MESSAGES = {
  ok: gettext("Admitted"),
  exit: gettext("Exit recorded"),
  malformed: gettext("This code is not a Boxoffice ticket."),
  unknown_key: gettext("This ticket was signed with an unknown key."),
  invalid_signature: gettext("This ticket's signature is not valid."),
  wrong_event: gettext("This ticket is for another event."),
  refunded: gettext("This ticket was refunded."),
  transferred: gettext("This ticket was transferred to someone else."),
  cancelled: gettext("This ticket was cancelled."),
  revoked: gettext("This ticket is no longer valid."),
  tier_not_allowed: gettext("This ticket's tier is not admitted here."),
  already_used: gettext("Already used."),
  already_inside: gettext("Already inside."),
  not_inside: gettext("This ticket is not inside: no entry to leave from."),
  exit_not_allowed: gettext("This list has no re-entry, so exits are not scanned."),
  no_bundle: gettext("Offline and no ticket data downloaded yet: cannot check."),
};

// The downloaded bundle, made quick to look up; `state` is ticket id -> {at, inside}, the
// server's admissions with this device's own offline scans applied on top.
export class OfflineGate {
  constructor(bundle) {
    this.bundle = bundle;
    this.eventId = bundle.event.id;
    this.reentry = bundle.list.allow_reentry;
    this.tiers = bundle.tiers.map(([id, name]) => ({ id, name }));
    this.allowedTiers = new Set(bundle.list.tiers.map((i) => this.tiers[i].id));
    this.tickets = new Map(bundle.tickets.map(([id, name, tier, seat]) => [id, { name, tier, seat }]));
    this.revoked = new Map(bundle.revoked);
    this.state = new Map(bundle.admitted.map(([id, at, inside]) => [id, { at, inside }]));
    this.keys = new Map();
    this.keyData = new Map(bundle.keys.map((k) => [k.kid, k]));
  }

  async key(kid) {
    if (!this.keyData.has(kid)) return null;
    if (!this.keys.has(kid)) {
      const raw = b64urlDecode(this.keyData.get(kid).public_key);
      const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
      this.keys.set(kid, key);
    }
    return this.keys.get(kid);
  }

  // Replays a queued scan on top of a fresh bundle, so its admission is not forgotten.
  apply(scan, ticketId) {
    if (!ticketId) return;
    if (scan.local_result === "admitted") {
      const known = this.state.get(ticketId);
      this.state.set(ticketId, { at: known ? known.at : scan.scanned_at, inside: true });
    } else if (scan.local_result === "exited" && this.state.has(ticketId)) {
      this.state.get(ticketId).inside = false;
    }
  }

  async check(payload, direction, now) {
    const verdict = (reason, extra = {}) => ({
      valid: reason === "ok" || reason === "exit",
      reason,
      message: MESSAGES[reason] || reason,
      already_used: reason === "already_used" || reason === "already_inside",
      attendee_name: "",
      tier: "",
      ticket_id: "",
      first_used_at: null,
      direction,
      offline: true,
      ...extra,
    });
    const claim = decodePayload(payload);
    if (!claim) return verdict("malformed");
    const keyInfo = this.keyData.get(claim.kid);
    const key = await this.key(claim.kid);
    if (!key) return verdict("unknown_key");
    let genuine = false;
    try {
      genuine = await crypto.subtle.verify({ name: "Ed25519" }, key, claim.signature, claim.signed);
    } catch (_) {
      genuine = false;
    }
    if (!genuine || keyInfo.event_id !== claim.eventId) return verdict("invalid_signature");
    if (claim.eventId !== this.eventId) return verdict("wrong_event");
    const known = this.tickets.get(claim.ticketId);
    const tier = this.tiers.find((t) => t.id === claim.tierId);
    const who = {
      ticket_id: claim.ticketId,
      attendee_name: known ? known.name : "",
      tier: tier ? tier.name : "",
      seat: claim.seat || (known ? known.seat || "" : ""),
    };
    // A genuine signature for a ticket missing from the bundle was sold after the download:
    // the signature is the proof, only the name is unknown.
    if (this.revoked.has(claim.ticketId)) return verdict(this.revoked.get(claim.ticketId), who);
    if (this.allowedTiers.size && !this.allowedTiers.has(claim.tierId)) {
      return verdict("tier_not_allowed", { ...who, message: `${who.tier} tickets are not admitted here.` });
    }
    const state = this.state.get(claim.ticketId);
    if (direction === "out") {
      if (!this.reentry) return verdict("exit_not_allowed", who);
      if (!state || !state.inside) return verdict("not_inside", who);
      state.inside = false;
      return verdict("exit", who);
    }
    if (state && (state.inside || !this.reentry)) {
      return verdict(this.reentry ? "already_inside" : "already_used", { ...who, first_used_at: state.at });
    }
    this.state.set(claim.ticketId, { at: state ? state.at : now, inside: true });
    return verdict("ok", who);
  }

  counts(pendingAdmissions) {
    const c = this.bundle.counts;
    return { admitted: c.admitted + pendingAdmissions, expected: c.expected };
  }
}

export { MESSAGES };
