#!/usr/bin/env python3
"""Independent reference implementation of the inbox-warehouse exports.

Reads one or more inbox event logs (NDJSON, optionally .gz), applies the input contract
(/work/shared/spec/input-format.md) and computes the twelve CSV exports defined in
/work/shared/spec/exports.md, following /work/main/docs/decisions.md.  Standard library only.
Every reading of the spec chosen here is listed in tools/reference/README.md.
"""

import argparse
import gzip
import json
import os
import re
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
ONE_US = timedelta(microseconds=1)

# --------------------------------------------------------------------------------------------
# Input contract
# --------------------------------------------------------------------------------------------

ID, STR, TS, BOOL, SCORE = "id", "str", "ts", "bool", "score"


def enum(*values):
    return ("enum", frozenset(values))


# kind -> (key fields, required {field: type}, optional {field: type})
KINDS = {
    "channel": (("id",), {"id": ID, "medium": STR, "name": STR},
                {"display_name": STR, "updated_at": TS}),
    "agent": (("id",), {"id": ID, "name": STR, "kind": enum("HUMAN", "VIRTUAL")},
              {"email": STR, "reference": STR, "updated_at": TS}),
    "team": (("id",), {"id": ID, "name": STR, "created_at": TS}, {"updated_at": TS}),
    "contact": (("id",), {"id": ID, "medium": STR, "created_at": TS},
                {"primary_identifier": STR, "secondary_identifier": STR, "updated_at": TS}),
    "contact_attribute": (("contact_id", "attribute_id"),
                          {"contact_id": ID, "attribute_id": ID, "name": STR, "attribute_type": STR},
                          {"value": STR, "source": STR, "updated_at": TS}),
    "topic": (("id",), {"id": ID, "name": STR}, {"active": BOOL, "updated_at": TS}),
    "tag": (("id",), {"id": ID, "name": STR}, {"active": BOOL, "updated_at": TS}),
    "conversation": (("id",), {"id": ID, "channel_id": ID, "contact_id": ID, "created_at": TS},
                     {"url": STR, "language": STR, "sentiment": STR, "updated_at": TS}),
    "message": (("id",),
                {"id": ID, "conversation_id": ID, "created_at": TS,
                 "direction": enum("INBOUND", "OUTBOUND")},
                {"message_type": STR, "origin": STR, "outbound_type": STR, "agent_id": ID,
                 "team_id": ID, "system_user_type": STR, "content": STR, "post_url": STR,
                 "sentiment": STR, "updated_at": TS, "deleted_at": TS}),
    "status_change": (("id",),
                      {"id": ID, "conversation_id": ID, "at": TS,
                       "status": enum("NEW", "PENDING", "RESOLVED")},
                      {"agent_id": ID, "team_id": ID,
                       "resolved_by": enum("AGENT", "VIRTUAL_AGENT", "BULK", "SYSTEM"),
                       "resolve_trigger": enum("HUMAN_AGENT", "VIRTUAL_AGENT", "AUTOMATION",
                                               "AUTO_RESOLVE"),
                       "resolution_reason": STR, "resolution_comment": STR}),
    "queue_entry": (("id",), {"id": ID, "conversation_id": ID, "at": TS, "started_by": STR},
                    {"handover_reason": STR, "inbound_message_id": ID}),
    "lock": (("id",), {"id": ID, "conversation_id": ID, "agent_id": ID, "started_at": TS},
             {"ended_at": TS, "team_id": ID, "updated_at": TS}),
    "topic_applied": (("id",), {"id": ID, "conversation_id": ID, "topic_id": ID, "at": TS},
                      {"agent_id": ID, "team_id": ID, "removed_at": TS, "updated_at": TS}),
    "tag_applied": (("id",), {"id": ID, "message_id": ID, "tag_id": ID, "at": TS},
                    {"agent_id": ID, "team_id": ID, "removed_at": TS, "updated_at": TS}),
    "csat": (("id",),
             {"id": ID, "conversation_id": ID, "sent_at": TS,
              "status": enum("SENT", "COMPLETED", "EXPIRED", "DECLINED")},
             {"agent_id": ID, "team_id": ID, "responded_at": TS, "score": SCORE,
              "follow_up_question": STR, "follow_up_answer": STR, "updated_at": TS}),
    "presence": (("id",), {"id": ID, "agent_id": ID, "presence": enum("AVAILABLE", "AWAY"),
                           "started_at": TS},
                 {"away_state": STR, "ended_at": TS, "updated_at": TS}),
}

DEFAULTS = {"topic": {"active": True}, "tag": {"active": True}}

TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_timestamp(text):
    """RFC 3339 timestamp with a mandatory offset -> aware UTC datetime, or None if invalid.
    More than six fractional digits are rounded (half up) to the microsecond."""
    if not isinstance(text, str):
        return None
    m = TS_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac, off = m.group(7), m.group(8)
    if off in ("Z", "z"):
        zone = UTC
    else:
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            return None
        sign = 1 if off[0] == "+" else -1
        zone = timezone(sign * timedelta(hours=oh, minutes=om))
    micro = 0
    if frac:
        digits = frac[1:]
        micro = int(digits[:6].ljust(6, "0"))
        if len(digits) > 6 and digits[6] >= "5":
            micro += 1
    try:
        return (datetime(y, mo, d, h, mi, s, tzinfo=zone) + micro * ONE_US).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def check_value(field, ftype, value):
    """Return (converted value, None) or (None, reason)."""
    if ftype == ID:
        if not isinstance(value, str):
            return None, f"field {field}: wrong JSON type (string expected)"
        if value == "" or len(value) > 200:
            return None, f"field {field}: identifier empty or longer than 200 characters"
        return value, None
    if ftype == STR:
        if not isinstance(value, str):
            return None, f"field {field}: wrong JSON type (string expected)"
        return value, None
    if ftype == TS:
        if not isinstance(value, str):
            return None, f"field {field}: wrong JSON type (string expected)"
        parsed = parse_timestamp(value)
        if parsed is None:
            return None, f"field {field}: bad timestamp {value!r}"
        return parsed, None
    if ftype == BOOL:
        if not isinstance(value, bool):
            return None, f"field {field}: wrong JSON type (boolean expected)"
        return value, None
    if ftype == SCORE:
        # JSON numbers arrive as int (no fraction or exponent) or as their exact Decimal value,
        # never as a binary float: 5.0 and 5e0 are 5, 4.9999999999999999999 is not an integer.
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return None, f"field {field}: wrong JSON type (number expected)"
        if not 1 <= value <= 5 or value != int(value):
            return None, f"field {field}: not an integer from 1 to 5"
        return int(value), None
    # closed enumeration
    if not isinstance(value, str):
        return None, f"field {field}: wrong JSON type (string expected)"
    if value not in ftype[1]:
        return None, f"field {field}: value {value!r} not in closed enumeration"
    return value, None


def contains_nul(value):
    """Whether a decoded JSON value holds U+0000 in any string (member names included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


def validate(obj):
    """Return (kind, record, None) for a valid record, or (None, None, reason)."""
    if not isinstance(obj, dict):
        return None, None, "not a JSON object"
    if contains_nul(obj):
        return None, None, "a string contains U+0000 (PostgreSQL text cannot hold it)"
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in KINDS:
        return None, None, "missing or unknown type"
    _, required, optional = KINDS[kind]
    rec = {}
    for field, ftype in required.items():
        value = obj.get(field)
        if value is None:
            return None, None, f"missing required field {field}"
        rec[field], err = check_value(field, ftype, value)
        if err:
            return None, None, err
    for field, ftype in optional.items():
        value = obj.get(field)
        if value is None:
            rec[field] = DEFAULTS.get(kind, {}).get(field)
            continue
        rec[field], err = check_value(field, ftype, value)
        if err:
            return None, None, err
    return kind, rec, None


def _reject_constant(name):
    raise ValueError(f"invalid JSON constant {name}")


def replaces(old, new):
    """The re-delivery rule: does `new` replace the stored `old` record with the same key?"""
    old_u, new_u = old.get("updated_at"), new.get("updated_at")
    if new_u is None:
        return old_u is None
    return old_u is None or new_u >= old_u


def load_logs(paths):
    """Load the logs in order.  Returns (store, rejects); store[kind][key] = record."""
    store = {kind: {} for kind in KINDS}
    rejects = []
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as fh:
            data = fh.read()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        for lineno, raw in enumerate(data.split(b"\n"), start=1):
            if raw.strip() == b"":
                continue
            try:
                text = raw.decode("utf-8")
                obj = json.loads(text, parse_constant=_reject_constant, parse_float=Decimal)
            except (UnicodeDecodeError, ValueError) as exc:
                rejects.append((path, lineno, raw, f"not JSON: {exc}"))
                continue
            kind, rec, reason = validate(obj)
            if reason:
                rejects.append((path, lineno, raw, reason))
                continue
            key_fields = KINDS[kind][0]
            key = rec[key_fields[0]] if len(key_fields) == 1 else tuple(rec[f] for f in key_fields)
            table = store[kind]
            if key not in table or replaces(table[key], rec):
                table[key] = rec
    return store, rejects


# --------------------------------------------------------------------------------------------
# Headers (en, fr), copied from the tables of exports.md; "CSAT Score 1 … 5" expanded
# --------------------------------------------------------------------------------------------

HEADERS = {
    'resolved-conversations': [
        ('Conversation ID', 'Identifiant de conversation'),
        ('Medium', 'Moyen'),
        ('Channel', 'Channel'),
        ('Channel Display Name', "Nom d'affichage du canal"),
        ('Contact Profile ID', 'ID de profil de contact'),
        ('Contact Primary Identifier', 'Identificateur principal du contact'),
        ('Contact Secondary Identifier', 'Identificateur secondaire du contact'),
        ('Created at', 'Créé à'),
        ('Last Status Change Agent ID', 'ID du dernier agent de changement de statut'),
        ('Last Status Change Agent Name', 'Nom du dernier agent de changement de statut'),
        ('Last Status Change Agent Reference', 'Référence du dernier agent de changement de statut'),
        ('Last Status Change Team ID', "ID d'équipe du dernier changement de statut"),
        ('Last Status Change Team Name', "Nom de l'équipe de la dernière modification"),
        ('Current Status', 'État actuel'),
        ('Resolved By', 'Résolu par'),
        ('Resolution Reason', 'Raison de résolution'),
        ('Resolve Comment', 'Résoudre le commentaire'),
        ('Resolve Trigger', 'Résoudre le déclenchement'),
        ('Resolved at', 'Résolu à'),
        ('Resolved Agent ID', "ID d'agent résolu"),
        ('Resolved Agent Name', "Nom de l'agent résolu"),
        ('Resolved Agent Reference', "Référence de l'agent résolu"),
        ('Inbound Message Count', 'Nombre de messages entrants'),
        ('Outbound Message Count', 'Nombre de messages sortants'),
        ('First Response Time', 'Délais de première intervention'),
        ('Handling Time', 'Temps de prise en charge'),
        ('No Reply Time', 'Délais de non-réponse'),
        ('Cherry Picking Time', 'Les temps de la cueillette des cerises'),
        ('Resolution Time', 'Temps de résolution'),
        ('Topic IDs', 'ID de sujet'),
        ('Topic Names', 'Noms des sujets'),
        ('Conversation URL', 'URL de conversation'),
        ('Last Updated', 'Dernière mise à jour'),
        ('Language', 'Langue'),
        ('CSAT Score', 'Score CSAT'),
        ('CSAT Completed Status', 'État CSAT terminé'),
        ('CSAT Follow Up Question', 'Question de suivi CSAT'),
        ('CSAT Follow Up Answer', 'Réponse de suivi CSAT'),
        ('Sentiment', 'Opinion'),
    ],
    'messages': [
        ('Message ID', 'Identifiant du message'),
        ('Created at', 'Créé à'),
        ('Conversation ID', 'Identifiant de conversation'),
        ('Medium', 'Moyen'),
        ('Channel', 'Channel'),
        ('Channel Display Name', "Nom d'affichage du canal"),
        ('Contact Profile ID', 'ID de profil de contact'),
        ('Contact Primary Identifier', 'Identificateur principal du contact'),
        ('Contact Secondary Identifier', 'Identifiant secondaire du contact'),
        ('Message Type', 'Type de message'),
        ('Origin', 'Origine'),
        ('Outbound Message Type', 'Type de message sortant'),
        ('Direction', 'Direction'),
        ('Agent ID', "ID d'agent"),
        ('Agent Name', "Nom de l'agent"),
        ('Agent Reference', "Référence de l'agent"),
        ('Team ID', "ID d'équipe"),
        ('Team Name', "Nom de l'équipe"),
        ('System User Type', "Type d'utilisateur du système"),
        ('Tag IDs', 'ID de balise'),
        ('Tag Names', 'Noms des balises'),
        ('Content', 'Contenus'),
        ('Conversation URL', 'URL de conversation'),
        ('Post URL', 'URL de la publication'),
        ('Last Updated', 'Dernière mise à jour'),
        ('Deleted at', 'Supprimé à'),
        ('Previous Message ID', 'ID du message précédent'),
        ('Time Since Previous Message', 'Temps écoulé depuis les messages précédents'),
        ('Sentiment', 'Opinion'),
    ],
    'teams': [
        ('Created at', 'Créé à'),
        ('Team ID', "ID d'équipe"),
        ('Team Name', "Nom de l'équipe"),
        ('Resolves With Reply', 'Résout avec réponse'),
        ('Resolves Without Reply', 'Résout sans réponse'),
        ('Average First Response Time', 'Temps moyen pour la première réponse'),
        ('Average Resolution Time', 'Temps de résolution moyen'),
        ('Total Handling Time', 'Temps total de traitement'),
        ('Total No Reply Time', 'Temps total sans réponse'),
        ('Total Cherry Picking Time', 'Temps total de cueillette des cerises'),
        ('Average Handling Time', 'Temps de traitement moyen'),
        ('Contacts Helped', 'Contacts aidés'),
        ('CSAT Score 1', 'CSAT avec score 1'),
        ('CSAT Score 2', 'CSAT avec score 2'),
        ('CSAT Score 3', 'CSAT avec score 3'),
        ('CSAT Score 4', 'CSAT avec score 4'),
        ('CSAT Score 5', 'CSAT avec score 5'),
        ('Tags Added', 'Tags ajoutés'),
        ('Topics Added', 'Sujets ajoutés'),
        ('Replies', 'Réponses'),
    ],
    'contacts': [
        ('Contact Profile ID', 'ID de profil de contact'),
        ('Medium', 'Moyen'),
        ('Primary Identifier', 'Identificateur principal'),
        ('Secondary Identifier', 'Identificateur secondaire'),
        ('Created at', 'Créé à'),
        ('Conversation Count', 'Nombre de conversations'),
        ('Inbound Message Count', 'Nombre de messages entrants'),
        ('Outbound Message Count', 'Nombre de messages sortants'),
        ('Last Updated', 'Dernière mise à jour'),
    ],
    'topics': [
        ('Topic ID', 'Identifiant du sujet'),
        ('Topic Name', 'Nom du sujet'),
        ('Active', 'Actif'),
        ('Total Conversations', 'Nombre total de conversations'),
        ('Current Total Conversations', 'Nombre total de conversations actuelles'),
        ('Medium', 'Moyen'),
        ('Channel', 'Channel'),
        ('Channel Display Name', "Nom d'affichage du canal"),
    ],
    'tags': [
        ('Tag ID', 'ID de balise'),
        ('Tag Name', "Nom de l'étiquette"),
        ('Active', 'Actif'),
        ('Total Contacts', 'Nombre total de contacts'),
        ('Total Messages', 'Nombre total de messages'),
        ('Current Total Messages', 'Nombre total de messages actuels'),
        ('Medium', 'Moyen'),
        ('Channel', 'Channel'),
        ('Channel Display Name', "Nom d'affichage du canal"),
    ],
    'agent-availability': [
        ('User ID', 'ID utilisateur'),
        ('User Name', "Nom d'utilisateur"),
        ('User Email', "Adresse e-mail de l'utilisateur"),
        ('Type', 'Type'),
        ('Away State', 'État éloigné'),
        ('From', 'De'),
        ('To', 'Pour'),
        ('Duration', 'durées'),
    ],
    'agent-metrics': [
        ('User ID', 'ID utilisateur'),
        ('User Name', "Nom d'utilisateur"),
        ('User Email', "Adresse e-mail de l'utilisateur"),
        ('User Reference', 'Référence utilisateur'),
        ('Available Time', 'Horaires disponibles'),
        ('Away Time', "Temps d'absence"),
        ('Contacts Helped', 'Contacts aidés'),
        ('Average Handling Time', 'Avg. Temps de traitement'),
        ('Handling Time', 'Temps de prise en charge'),
        ('No Reply Time', 'Délais de non-réponse'),
        ('Cherry Picking Time', 'Les temps de la cueillette des cerises'),
        ('Replies', 'Réponses'),
        ('Resolves With Reply', 'Résout - Avec réponse'),
        ('Resolves Without Reply', 'Résout - Pas de réponse'),
        ('Tags Added', 'Tags ajoutés'),
        ('Topics Added', 'Sujets ajoutés'),
        ('Utilization (%)', 'Utilisation (%)'),
        ('CSAT Score 1', 'CSAT avec score 1'),
        ('CSAT Score 2', 'CSAT avec score 2'),
        ('CSAT Score 3', 'CSAT avec score 3'),
        ('CSAT Score 4', 'CSAT avec score 4'),
        ('CSAT Score 5', 'CSAT avec score 5'),
    ],
    'responses': [
        ('Conversation ID', 'Identifiant de conversation'),
        ('Medium', 'Moyen'),
        ('Sender Channel', "Canal de l'expéditeur"),
        ('Sender Channel Full Name', "Nom complet du canal de l'expéditeur"),
        ('Contact Profile ID', 'ID de profil de contact'),
        ('Started By', 'Commencé par'),
        ('Handover Reason', 'Raison du transfert'),
        ('From', 'De'),
        ('To', 'Pour'),
        ('Agent Response Time', 'Temps de réponse des agents'),
        ('Responding Agent ID', "ID de l'agent de réponse"),
        ('Responding Agent Name', "Nom de l'agent de réponse"),
        ('Responding Agent Reference', "Référence de l'agent de réponse"),
        ('Inbound Message ID', 'ID du message entrant'),
        ('Outbound Message ID', 'ID du message sortant'),
        ('Conversation URL', 'URL de conversation'),
    ],
    'virtual-agents': [
        ('Agent ID', "ID d'agent"),
        ('Agent Name', "Nom de l'agent"),
        ('Medium', 'Moyen'),
        ('Channel', 'Channel'),
        ('Channel Display Name', "Nom d'affichage du canal"),
        ('Total Conversations', 'Nombre total de conversations'),
        ('Handed Over to Agent', "Transfert à l'agent"),
        ('Handed Over Due to Error', "Transfert en raison d'une erreur"),
        ('Resolved', 'Réglé'),
        ('Total Conversations with Topic', 'Nombre total de conversations avec sujet'),
        ('Total Tagged Messages', 'Nombre total de messages marqués'),
        ('Total Message Tags', 'Le nombre total de messages marqués'),
    ],
    'contact-attributes': [
        ('Contact Profile ID', 'ID de profil de contact'),
        ('Contact Primary Identifier', 'Identificateur principal du contact'),
        ('Contact Secondary Identifier', 'Identificateur secondaire du contact'),
        ('Attribute ID', "ID d'attribut"),
        ('Attribute Name', "Nom de l'attribut"),
        ('Attribute Value', "Valeur de l'attribut"),
        ('Attribute Type', "Type d'attribut"),
    ],
}


# --------------------------------------------------------------------------------------------
# Output formatting
# --------------------------------------------------------------------------------------------

def us_of(delta):
    """A timedelta as an exact integer number of microseconds."""
    return delta // ONE_US


def round_seconds(micro):
    """Exact microseconds (int or Decimal) -> whole seconds, halves away from zero."""
    return int((Decimal(micro) / Decimal(1_000_000)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fmt_duration(micro):
    return None if micro is None else str(round_seconds(micro))


def fmt_average(values):
    """Average of exact microsecond values, rounded once; empty over nothing."""
    if not values:
        return None
    return str(round_seconds(Decimal(sum(values)) / Decimal(len(values))))


def fmt_percent(numerator, denominator):
    if denominator == 0:
        return None
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def fmt_bool(value):
    return None if value is None else ("true" if value else "false")


def fmt_count(value):
    return str(value)


def csv_field(value):
    """PostgreSQL COPY (FORMAT csv) quoting: None -> empty, '' -> "", quote on , " CR LF."""
    if value is None:
        return ""
    text = str(value)
    if text == "":
        return '""'
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(csv_field(h) for h in header) + "\n")
        for row in rows:
            assert len(row) == len(header), (path, len(row), len(header))
            fh.write(",".join(csv_field(v) for v in row) + "\n")


def name_key(name):
    """Sort key for a possibly missing name: code point order, missing names last."""
    return (name is None, name or "")


# --------------------------------------------------------------------------------------------
# Request context and loaded data
# --------------------------------------------------------------------------------------------

class Context:
    """The loaded data, its indexes and the request parameters (R, T, zone, channels...)."""

    def __init__(self, store, tz, r_start, r_end, as_of, channels, content_policy, scheduled):
        self.tz = tz
        self.r_start, self.r_end = r_start, r_end   # None, None when no range was given
        self.T = as_of
        self.channel_filter = set(channels) if channels else None
        self.content_policy = content_policy
        self.scheduled = scheduled

        self.channels = store["channel"]
        self.agents = store["agent"]
        self.teams = store["team"]
        self.contacts = store["contact"]
        self.topics = store["topic"]
        self.tags = store["tag"]
        self.conversations = store["conversation"]
        self.messages = store["message"]
        self.status_changes = store["status_change"]
        self.queue_entries = store["queue_entry"]
        self.locks = store["lock"]
        self.topic_apps = store["topic_applied"]
        self.tag_apps = store["tag_applied"]
        self.surveys = store["csat"]
        self.presences = store["presence"]
        self.attributes = store["contact_attribute"]

        def group(records, field, order):
            out = defaultdict(list)
            for rec in records.values():
                out[rec[field]].append(rec)
            for recs in out.values():
                recs.sort(key=order)
            return out

        self.msgs_by_conv = group(self.messages, "conversation_id",
                                  lambda m: (m["created_at"], m["id"]))
        self.scs_by_conv = group(self.status_changes, "conversation_id",
                                 lambda s: (s["at"], s["id"]))
        self.qes_by_conv = group(self.queue_entries, "conversation_id",
                                 lambda q: (q["at"], q["id"]))
        self.locks_by_conv = group(self.locks, "conversation_id",
                                   lambda l: (l["started_at"], l["id"]))
        self.topic_apps_by_conv = group(self.topic_apps, "conversation_id",
                                        lambda a: (a["at"], a["id"]))
        self.tag_apps_by_msg = group(self.tag_apps, "message_id", lambda a: (a["at"], a["id"]))
        self.surveys_by_conv = group(self.surveys, "conversation_id",
                                     lambda c: (c["sent_at"], c["id"]))
        self.previous_message = {}    # message id -> the message just before it in its conversation
        for msgs in self.msgs_by_conv.values():
            for before, after in zip(msgs, msgs[1:]):
                self.previous_message[after["id"]] = before
        self.attrs_by_contact = defaultdict(list)
        for attr in self.attributes.values():
            self.attrs_by_contact[attr["contact_id"]].append(attr)
        self._facts = {}
        self._lock_classes = {}

    # ---- small predicates -------------------------------------------------------------------

    def in_r(self, ts):
        return ts is not None and self.r_start <= ts < self.r_end

    def overlaps_r(self, start, end):
        """Intervals are half-open [start, end); an empty one (end <= start) overlaps nothing."""
        return start < end and start < self.r_end and end > self.r_start

    def clip_us(self, start, end):
        """Microseconds of [start, end) inside R."""
        lo, hi = max(start, self.r_start), min(end, self.r_end)
        return us_of(hi - lo) if hi > lo else 0

    def conv_ok(self, conv_id):
        """Channel filter: the conversation's channel must be selected (unknown conversations
        have no channel, so they pass only when no filter is given)."""
        if self.channel_filter is None:
            return True
        conv = self.conversations.get(conv_id)
        return conv is not None and conv["channel_id"] in self.channel_filter

    def message_conv_ok(self, message_id):
        msg = self.messages.get(message_id)
        return self.conv_ok(msg["conversation_id"] if msg else None)

    def is_human(self, agent_id):
        agent = self.agents.get(agent_id)
        return agent is not None and agent["kind"] == "HUMAN"

    def is_virtual(self, agent_id):
        agent = self.agents.get(agent_id)
        return agent is not None and agent["kind"] == "VIRTUAL"

    def is_outbound(self, msg):
        """The outbound messages every figure counts: non-deleted and OUTBOUND."""
        return msg["deleted_at"] is None and msg["direction"] == "OUTBOUND"

    def is_human_outbound(self, msg):
        """A human reply: an outbound message (above) whose author is a human agent."""
        return self.is_outbound(msg) and self.is_human(msg["agent_id"])

    def completed_score(self, survey):
        """The score CSAT Score 1..5 count: a COMPLETED survey's score, else None."""
        return survey["score"] if survey["status"] == "COMPLETED" else None

    def current_at_t(self, application):
        """State at T: applied at or before T and not removed at T (removed_at empty or later)."""
        return application["at"] <= self.T and (application["removed_at"] is None
                                                 or application["removed_at"] > self.T)

    def tag_app_counts(self, app):
        """Tag applications on deleted messages are left out of every count."""
        msg = self.messages.get(app["message_id"])
        return msg is None or msg["deleted_at"] is None

    def ts(self, value):
        """Format an instant in the export zone as YYYY-MM-DDTHH:MM:SS+HH:MM (fraction dropped)."""
        if value is None:
            return None
        local = value.astimezone(self.tz)
        offset = int(local.utcoffset().total_seconds())
        sign = "+" if offset >= 0 else "-"
        offset = abs(offset)
        return (f"{local.year:04d}-{local.month:02d}-{local.day:02d}T"
                f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"
                f"{sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}")

    # ---- dimension lookups (missing record -> empty descriptive cells) ----------------------

    def attr(self, table, key, field):
        rec = table.get(key) if key is not None else None
        return rec.get(field) if rec is not None else None

    def channel_cells(self, conv_id):
        """(medium, name, display_name) of the conversation's channel."""
        conv = self.conversations.get(conv_id)
        ch_id = conv["channel_id"] if conv else None
        return (self.attr(self.channels, ch_id, "medium"), self.attr(self.channels, ch_id, "name"),
                self.attr(self.channels, ch_id, "display_name"))

    def contact_cells(self, conv_id):
        """(contact id, primary identifier, secondary identifier) of the conversation."""
        conv = self.conversations.get(conv_id)
        ct_id = conv["contact_id"] if conv else None
        return (ct_id, self.attr(self.contacts, ct_id, "primary_identifier"),
                self.attr(self.contacts, ct_id, "secondary_identifier"))

    def contact_of(self, conv_id):
        conv = self.conversations.get(conv_id)
        return conv["contact_id"] if conv else None

    def channel_of(self, conv_id):
        conv = self.conversations.get(conv_id)
        return conv["channel_id"] if conv else None

    # ---- lock sessions -----------------------------------------------------------------------

    def lock_session(self, lock):
        """(class, start, end) of a lock session; end = ended_at or T.  The class is decided on
        the whole session, bounds included.  An inverted session (end before start) is empty."""
        if lock["id"] in self._lock_classes:
            return self._lock_classes[lock["id"]]
        start = lock["started_at"]
        end = lock["ended_at"] if lock["ended_at"] is not None else self.T
        agent = lock["agent_id"]
        conv = lock["conversation_id"]
        wrote = any(self.is_outbound(m) and m["agent_id"] == agent and start <= m["created_at"] <= end
                    for m in self.msgs_by_conv.get(conv, ()))
        resolved = any(s["status"] == "RESOLVED" and s["agent_id"] == agent
                       and start <= s["at"] <= end
                       for s in self.scs_by_conv.get(conv, ()))
        cls = "handling" if wrote else ("no_reply" if resolved else "cherry_picking")
        result = (cls, start, max(end, start))
        self._lock_classes[lock["id"]] = result
        return result

    def had_human_reply(self, conv_id, at):
        """≥1 non-deleted human outbound message in the conversation at or before `at`."""
        return any(self.is_human_outbound(m) and m["created_at"] <= at
                   for m in self.msgs_by_conv.get(conv_id, ()))

    def all_conversation_ids(self):
        """Every conversation id known or referenced by a conversation-bound record."""
        ids = set(self.conversations)
        for table in (self.messages, self.status_changes, self.queue_entries, self.locks,
                      self.topic_apps, self.surveys):
            ids.update(rec["conversation_id"] for rec in table.values())
        return ids

    # ---- per-conversation figures --------------------------------------------------------------

    def facts(self, conv_id):
        if conv_id not in self._facts:
            self._facts[conv_id] = ConversationFacts(self, conv_id)
        return self._facts[conv_id]


def ordered_items(applications, item_field, keep):
    """Distinct items of the applications that satisfy `keep`, ordered by each item's earliest
    application (over all its applications here), then by item id."""
    earliest = {}
    for app in applications:
        item = app[item_field]
        if item not in earliest or app["at"] < earliest[item]:
            earliest[item] = app["at"]
    items = {app[item_field] for app in applications if keep(app)}
    return sorted(items, key=lambda item: (earliest[item], item))


def join_ids(items):
    """`;`-joined cell of ids; empty cell when there are none."""
    return ";".join(items) if items else None


def join_names(items, table):
    """`;`-joined names of the same items; a missing record is an empty part (keeps alignment)."""
    if not items:
        return None
    return ";".join(table[item]["name"] if item in table else "" for item in items)


class ConversationFacts:
    """The shared per-conversation definitions of exports.md, computed once."""

    def __init__(self, ctx, conv_id):
        T = ctx.T
        self.conv_id = conv_id
        self.conv = ctx.conversations.get(conv_id)
        msgs = ctx.msgs_by_conv.get(conv_id, [])
        live = [m for m in msgs if m["deleted_at"] is None]
        scs = ctx.scs_by_conv.get(conv_id, [])
        qes = ctx.qes_by_conv.get(conv_id, [])

        self.inbound_count = sum(1 for m in live if m["direction"] == "INBOUND")
        self.outbound_count = sum(1 for m in live if m["direction"] == "OUTBOUND")

        # first inbound, response reference, first response, First Response Time
        self.first_inbound = next((m for m in live if m["direction"] == "INBOUND"), None)
        handover = next((q for q in qes if q["started_by"] == "VA_HANDED_OVER_CONVERSATION"), None)
        if handover is not None:
            self.reference = handover["at"]
        elif self.first_inbound is not None:
            self.reference = self.first_inbound["created_at"]
        else:
            self.reference = None
        self.first_response = None
        if self.reference is not None:
            self.first_response = next(
                (m for m in live if ctx.is_human_outbound(m) and m["created_at"] >= self.reference),
                None)
        self.frt_us = (us_of(self.first_response["created_at"] - self.reference)
                       if self.first_response is not None else None)

        # first resolution and Resolution Time
        self.first_resolution = next((s for s in scs if s["status"] == "RESOLVED"), None)
        self.resolution_us = None
        if self.first_resolution is not None and self.first_inbound is not None:
            value = us_of(self.first_resolution["at"] - self.first_inbound["created_at"])
            self.resolution_us = value if value >= 0 else None

        # current status at T, latest resolution at or before T, last status change
        at_or_before_t = [s for s in scs if s["at"] <= T]
        self.current_status = at_or_before_t[-1]["status"] if at_or_before_t else "NEW"
        self.latest_resolution_by_t = next(
            (s for s in reversed(at_or_before_t) if s["status"] == "RESOLVED"), None)
        self.last_status_change = next(
            (s for s in reversed(scs) if s["status"] in ("PENDING", "RESOLVED")), None)

        # lock classes (whole sessions, unclipped)
        self.lock_us = {"handling": 0, "no_reply": 0, "cherry_picking": 0}
        for lock in ctx.locks_by_conv.get(conv_id, []):
            cls, start, end = ctx.lock_session(lock)
            self.lock_us[cls] += us_of(end - start)

        # current topics
        apps = ctx.topic_apps_by_conv.get(conv_id, [])
        self.topic_ids = ordered_items(apps, "topic_id", ctx.current_at_t)

        # latest survey
        surveys = ctx.surveys_by_conv.get(conv_id, [])
        self.latest_survey = surveys[-1] if surveys else None

        # Last Updated: latest timestamp at or before T of any record about the conversation
        stamps = []
        if self.conv is not None:
            stamps += [self.conv["updated_at"], self.conv["created_at"]]
        for m in msgs:
            stamps += [m["created_at"], m["updated_at"], m["deleted_at"]]
        stamps += [s["at"] for s in scs]
        for a in apps:
            stamps += [a["at"], a["removed_at"]]
        for c in surveys:
            stamps += [c["sent_at"], c["responded_at"]]
        eligible = [s for s in stamps if s is not None and s <= T]
        self.last_updated = max(eligible) if eligible else None


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------

def get(rec, field):
    return rec[field] if rec is not None else None


def conversation_row(ctx, f, resolution, full):
    """A row of export 1 (full=True) or export 2 (full=False) for one conversation; the
    Resolved ... columns describe `resolution`."""
    cid, conv = f.conv_id, f.conv
    medium, ch_name, ch_display = ctx.channel_cells(cid)
    ct_id, ct_primary, ct_secondary = ctx.contact_cells(cid)
    lsc_agent = get(f.last_status_change, "agent_id")
    lsc_team = get(f.last_status_change, "team_id")
    res_agent = get(resolution, "agent_id")
    row = [cid, medium, ch_name, ch_display, ct_id, ct_primary, ct_secondary,
           ctx.ts(conv["created_at"]),
           lsc_agent, ctx.attr(ctx.agents, lsc_agent, "name"),
           ctx.attr(ctx.agents, lsc_agent, "reference"),
           lsc_team, ctx.attr(ctx.teams, lsc_team, "name"),
           f.current_status, get(resolution, "resolved_by")]
    if full:
        row += [get(resolution, "resolution_reason"), get(resolution, "resolution_comment"),
                get(resolution, "resolve_trigger")]
    row += [ctx.ts(get(resolution, "at")), res_agent, ctx.attr(ctx.agents, res_agent, "name"),
            ctx.attr(ctx.agents, res_agent, "reference"),
            fmt_count(f.inbound_count), fmt_count(f.outbound_count),
            fmt_duration(f.frt_us), fmt_duration(f.lock_us["handling"]),
            fmt_duration(f.lock_us["no_reply"]), fmt_duration(f.lock_us["cherry_picking"]),
            fmt_duration(f.resolution_us),
            join_ids(f.topic_ids), join_names(f.topic_ids, ctx.topics),
            conv["url"], ctx.ts(f.last_updated), conv["language"]]
    if full:
        survey = f.latest_survey
        score = get(survey, "score")
        row += [None if score is None else str(score), get(survey, "status"),
                get(survey, "follow_up_question"), get(survey, "follow_up_answer")]
    row.append(conv["sentiment"])
    return row


def export_resolved_conversations(ctx):
    found = []
    for cid in ctx.conversations:
        if not ctx.conv_ok(cid):
            continue
        f = ctx.facts(cid)
        if f.first_resolution is not None and ctx.in_r(f.first_resolution["at"]):
            found.append(f)
    found.sort(key=lambda f: (f.first_resolution["at"], f.conv_id))
    return [conversation_row(ctx, f, f.first_resolution, full=True) for f in found]


def export_open_conversations(ctx):
    found = []
    for cid, conv in ctx.conversations.items():
        if not ctx.conv_ok(cid):
            continue
        if ctx.r_start is not None and not ctx.in_r(conv["created_at"]):
            continue
        f = ctx.facts(cid)
        if f.current_status in ("NEW", "PENDING"):
            found.append(f)
    found.sort(key=lambda f: (f.conv["created_at"], f.conv_id))
    return [conversation_row(ctx, f, f.latest_resolution_by_t, full=False) for f in found]


def content_allowed(ctx, medium):
    if ctx.scheduled or ctx.content_policy == "none":
        return False
    if ctx.content_policy == "all":
        return True
    return medium == "TWITTER"


def export_messages(ctx):
    msgs = [m for m in ctx.messages.values()
            if ctx.in_r(m["created_at"]) and ctx.conv_ok(m["conversation_id"])]
    msgs.sort(key=lambda m: (m["created_at"], m["id"]))
    rows = []
    for m in msgs:
        cid = m["conversation_id"]
        conv = ctx.conversations.get(cid)
        medium, ch_name, ch_display = ctx.channel_cells(cid)
        ct_id, ct_primary, ct_secondary = ctx.contact_cells(cid)
        previous = ctx.previous_message.get(m["id"])
        tag_ids = ordered_items(ctx.tag_apps_by_msg.get(m["id"], []), "tag_id",
                                ctx.current_at_t)
        agent, team = m["agent_id"], m["team_id"]
        rows.append([
            m["id"], ctx.ts(m["created_at"]), cid, medium, ch_name, ch_display,
            ct_id, ct_primary, ct_secondary,
            m["message_type"], m["origin"], m["outbound_type"], m["direction"],
            agent, ctx.attr(ctx.agents, agent, "name"), ctx.attr(ctx.agents, agent, "reference"),
            team, ctx.attr(ctx.teams, team, "name"), m["system_user_type"],
            join_ids(tag_ids), join_names(tag_ids, ctx.tags),
            m["content"] if content_allowed(ctx, medium) else None,
            get(conv, "url"), m["post_url"],
            ctx.ts(m["updated_at"] if m["updated_at"] is not None else m["created_at"]),
            ctx.ts(m["deleted_at"]),
            get(previous, "id"),
            fmt_duration(us_of(m["created_at"] - previous["created_at"]) if previous else None),
            m["sentiment"] if m["sentiment"] is not None else get(conv, "sentiment"),
        ])
    return rows


def csat_cells(counter):
    return [fmt_count(counter.get(score, 0)) for score in range(1, 6)]


def export_teams(ctx):
    live_outbound_in_r = [m for m in ctx.messages.values()
                          if ctx.is_outbound(m) and ctx.in_r(m["created_at"]) and ctx.conv_ok(m["conversation_id"])]
    team_ids = {m["team_id"] for m in live_outbound_in_r if m["team_id"] is not None}

    with_reply, without_reply = defaultdict(int), defaultdict(int)
    for s in ctx.status_changes.values():
        if (s["status"] == "RESOLVED" and s["team_id"] in team_ids and ctx.in_r(s["at"])
                and ctx.conv_ok(s["conversation_id"])):
            if ctx.had_human_reply(s["conversation_id"], s["at"]):
                with_reply[s["team_id"]] += 1
            else:
                without_reply[s["team_id"]] += 1

    frts, resolutions = defaultdict(list), defaultdict(list)
    for cid in ctx.all_conversation_ids():
        if not ctx.conv_ok(cid):
            continue
        f = ctx.facts(cid)
        fr = f.first_response
        if fr is not None and ctx.in_r(fr["created_at"]) and fr["team_id"] is not None:
            frts[fr["team_id"]].append(f.frt_us)
        res = f.first_resolution
        if (res is not None and ctx.in_r(res["at"]) and res["team_id"] is not None
                and f.resolution_us is not None):
            resolutions[res["team_id"]].append(f.resolution_us)

    lock_us = defaultdict(lambda: {"handling": 0, "no_reply": 0, "cherry_picking": 0})
    handling_convs = defaultdict(set)
    for lock in ctx.locks.values():
        if lock["team_id"] is None or not ctx.conv_ok(lock["conversation_id"]):
            continue
        cls, start, end = ctx.lock_session(lock)
        lock_us[lock["team_id"]][cls] += ctx.clip_us(start, end)
        if cls == "handling" and ctx.overlaps_r(start, end):
            handling_convs[lock["team_id"]].add(lock["conversation_id"])

    contacts_helped, replies = defaultdict(set), defaultdict(int)
    for m in live_outbound_in_r:
        if m["team_id"] is not None and ctx.is_human(m["agent_id"]):
            replies[m["team_id"]] += 1
            contact = ctx.contact_of(m["conversation_id"])
            if contact is not None:
                contacts_helped[m["team_id"]].add(contact)

    csat = defaultdict(lambda: defaultdict(int))
    for c in ctx.surveys.values():
        if (c["team_id"] is not None and ctx.completed_score(c) is not None
                and ctx.in_r(c["responded_at"]) and ctx.conv_ok(c["conversation_id"])):
            csat[c["team_id"]][ctx.completed_score(c)] += 1

    tags_added, topics_added = defaultdict(int), defaultdict(int)
    for a in ctx.tag_apps.values():
        if (a["team_id"] is not None and ctx.in_r(a["at"]) and ctx.tag_app_counts(a)
                and ctx.message_conv_ok(a["message_id"])):
            tags_added[a["team_id"]] += 1
    for a in ctx.topic_apps.values():
        if a["team_id"] is not None and ctx.in_r(a["at"]) and ctx.conv_ok(a["conversation_id"]):
            topics_added[a["team_id"]] += 1

    rows = []
    order = sorted(team_ids, key=lambda t: (name_key(ctx.attr(ctx.teams, t, "name")), t))
    for t in order:
        handling = lock_us[t]["handling"]
        n_handling = len(handling_convs[t])
        rows.append([
            ctx.ts(ctx.attr(ctx.teams, t, "created_at")), t, ctx.attr(ctx.teams, t, "name"),
            fmt_count(with_reply[t]), fmt_count(without_reply[t]),
            fmt_average(frts[t]), fmt_average(resolutions[t]),
            fmt_duration(handling), fmt_duration(lock_us[t]["no_reply"]),
            fmt_duration(lock_us[t]["cherry_picking"]),
            fmt_duration(Decimal(handling) / n_handling) if n_handling else None,
            fmt_count(len(contacts_helped[t])),
            *csat_cells(csat[t]),
            fmt_count(tags_added[t]), fmt_count(topics_added[t]), fmt_count(replies[t]),
        ])
    return rows


def export_contacts(ctx):
    stats = defaultdict(lambda: {"convs": set(), "in": 0, "out": 0, "first_in": None})
    for m in ctx.messages.values():
        if m["deleted_at"] is not None or not ctx.in_r(m["created_at"]):
            continue
        cid = m["conversation_id"]
        contact = ctx.contact_of(cid)
        if contact is None or not ctx.conv_ok(cid):
            continue
        st = stats[contact]
        st["convs"].add(cid)
        if m["direction"] == "INBOUND":
            st["in"] += 1
            if st["first_in"] is None or m["created_at"] < st["first_in"]:
                st["first_in"] = m["created_at"]
        else:
            st["out"] += 1
    rows = []
    for contact in sorted(stats):
        st = stats[contact]
        rec = ctx.contacts.get(contact)
        last = None
        if rec is not None:
            last = rec["updated_at"] if rec["updated_at"] is not None else rec["created_at"]
        rows.append([contact, get(rec, "medium"), get(rec, "primary_identifier"),
                     get(rec, "secondary_identifier"), ctx.ts(st["first_in"]),
                     fmt_count(len(st["convs"])), fmt_count(st["in"]), fmt_count(st["out"]),
                     ctx.ts(last)])
    return rows


def channel_row_cells(ctx, channel_id):
    return [ctx.attr(ctx.channels, channel_id, "medium"), ctx.attr(ctx.channels, channel_id, "name"),
            ctx.attr(ctx.channels, channel_id, "display_name")]


def export_topics(ctx):
    convs = defaultdict(set)          # (topic, channel) -> conversations with it applied in R
    for a in ctx.topic_apps.values():
        cid = a["conversation_id"]
        channel = ctx.channel_of(cid)
        if ctx.in_r(a["at"]) and channel is not None and ctx.conv_ok(cid):
            convs[(a["topic_id"], channel)].add(cid)
    rows = []
    order = sorted(convs, key=lambda k: (name_key(ctx.attr(ctx.topics, k[0], "name")), k[0], k[1]))
    for topic, channel in order:
        current = sum(1 for cid in convs[(topic, channel)]
                      if any(a["topic_id"] == topic and ctx.current_at_t(a)
                             for a in ctx.topic_apps_by_conv[cid]))
        rows.append([topic, ctx.attr(ctx.topics, topic, "name"),
                     fmt_bool(ctx.attr(ctx.topics, topic, "active")),
                     fmt_count(len(convs[(topic, channel)])), fmt_count(current),
                     *channel_row_cells(ctx, channel)])
    return rows


def export_tags(ctx):
    msgs = defaultdict(set)           # (tag, channel) -> messages tagged with it in R
    for a in ctx.tag_apps.values():
        msg = ctx.messages.get(a["message_id"])
        if msg is None or msg["deleted_at"] is not None or not ctx.in_r(a["at"]):
            continue
        cid = msg["conversation_id"]
        channel = ctx.channel_of(cid)
        if channel is not None and ctx.conv_ok(cid):
            msgs[(a["tag_id"], channel)].add(msg["id"])
    rows = []
    order = sorted(msgs, key=lambda k: (name_key(ctx.attr(ctx.tags, k[0], "name")), k[0], k[1]))
    for tag, channel in order:
        tagged = msgs[(tag, channel)]
        contacts = {ctx.contact_of(ctx.messages[m]["conversation_id"]) for m in tagged}
        current = sum(1 for m in tagged
                      if any(a["tag_id"] == tag and ctx.current_at_t(a)
                             for a in ctx.tag_apps_by_msg[m]))
        rows.append([tag, ctx.attr(ctx.tags, tag, "name"),
                     fmt_bool(ctx.attr(ctx.tags, tag, "active")),
                     fmt_count(len(contacts)), fmt_count(len(tagged)), fmt_count(current),
                     *channel_row_cells(ctx, channel)])
    return rows


def presence_span(ctx, p):
    """(start, end) of a presence interval; an ongoing one runs to T; never inverted."""
    start = p["started_at"]
    end = p["ended_at"] if p["ended_at"] is not None else ctx.T
    return start, max(end, start)


def export_agent_availability(ctx):
    found = []
    for p in ctx.presences.values():
        if not ctx.is_human(p["agent_id"]):
            continue
        start, end = presence_span(ctx, p)
        if ctx.overlaps_r(start, end):
            found.append((p, start, end))
    found.sort(key=lambda x: (x[1], x[0]["agent_id"], x[0]["id"]))
    rows = []
    for p, start, end in found:
        agent = ctx.agents[p["agent_id"]]
        rows.append([p["agent_id"], agent["name"], agent["email"], p["presence"], p["away_state"],
                     ctx.ts(start), ctx.ts(p["ended_at"]), fmt_duration(us_of(end - start))])
    return rows


def export_agent_metrics(ctx):
    humans = {a for a in ctx.agents if ctx.is_human(a)}
    active = set()
    presence_us = defaultdict(lambda: {"AVAILABLE": 0, "AWAY": 0})
    for p in ctx.presences.values():
        a = p["agent_id"]
        if a not in humans:
            continue
        start, end = presence_span(ctx, p)
        if ctx.overlaps_r(start, end):
            active.add(a)
            presence_us[a][p["presence"]] += ctx.clip_us(start, end)

    contacts_helped, replies = defaultdict(set), defaultdict(int)
    for m in ctx.messages.values():
        a = m["agent_id"]
        if (a in humans and ctx.is_outbound(m)
                and ctx.in_r(m["created_at"]) and ctx.conv_ok(m["conversation_id"])):
            active.add(a)
            replies[a] += 1
            contact = ctx.contact_of(m["conversation_id"])
            if contact is not None:
                contacts_helped[a].add(contact)

    lock_us = defaultdict(lambda: {"handling": 0, "no_reply": 0, "cherry_picking": 0})
    handling_convs = defaultdict(set)
    for lock in ctx.locks.values():
        a = lock["agent_id"]
        if a not in humans or not ctx.conv_ok(lock["conversation_id"]):
            continue
        cls, start, end = ctx.lock_session(lock)
        if not ctx.overlaps_r(start, end):
            continue
        active.add(a)
        lock_us[a][cls] += ctx.clip_us(start, end)
        if cls == "handling":
            handling_convs[a].add(lock["conversation_id"])

    with_reply, without_reply = defaultdict(int), defaultdict(int)
    for s in ctx.status_changes.values():
        a = s["agent_id"]
        if a not in humans or not ctx.in_r(s["at"]) or not ctx.conv_ok(s["conversation_id"]):
            continue
        active.add(a)
        if s["status"] == "RESOLVED":
            if ctx.had_human_reply(s["conversation_id"], s["at"]):
                with_reply[a] += 1
            else:
                without_reply[a] += 1

    tags_added, topics_added = defaultdict(int), defaultdict(int)
    for t in ctx.tag_apps.values():
        a = t["agent_id"]
        if (a in humans and ctx.in_r(t["at"]) and ctx.tag_app_counts(t)
                and ctx.message_conv_ok(t["message_id"])):
            active.add(a)
            tags_added[a] += 1
    for t in ctx.topic_apps.values():
        a = t["agent_id"]
        if a in humans and ctx.in_r(t["at"]) and ctx.conv_ok(t["conversation_id"]):
            active.add(a)
            topics_added[a] += 1

    csat = defaultdict(lambda: defaultdict(int))
    for c in ctx.surveys.values():
        a = c["agent_id"]
        if a in humans and ctx.in_r(c["responded_at"]) and ctx.conv_ok(c["conversation_id"]):
            active.add(a)
            if ctx.completed_score(c) is not None:
                csat[a][ctx.completed_score(c)] += 1

    rows = []
    for a in sorted(active, key=lambda a: (ctx.agents[a]["name"], a)):
        agent = ctx.agents[a]
        locks = lock_us[a]
        busy = locks["handling"] + locks["no_reply"] + locks["cherry_picking"]
        available = presence_us[a]["AVAILABLE"]
        n_handling = len(handling_convs[a])
        rows.append([
            a, agent["name"], agent["email"], agent["reference"],
            fmt_duration(available), fmt_duration(presence_us[a]["AWAY"]),
            fmt_count(len(contacts_helped[a])),
            fmt_duration(Decimal(locks["handling"]) / n_handling) if n_handling else None,
            fmt_duration(locks["handling"]), fmt_duration(locks["no_reply"]),
            fmt_duration(locks["cherry_picking"]),
            fmt_count(replies[a]), fmt_count(with_reply[a]), fmt_count(without_reply[a]),
            fmt_count(tags_added[a]), fmt_count(topics_added[a]),
            fmt_percent(busy, available),
            *csat_cells(csat[a]),
        ])
    return rows


def export_responses(ctx):
    found = []
    for cid, msgs in ctx.msgs_by_conv.items():
        if not ctx.conv_ok(cid):
            continue
        entries = ctx.qes_by_conv.get(cid, [])
        previous = None
        for m in msgs:
            if not ctx.is_human_outbound(m):
                continue
            pending = [q for q in entries
                       if (previous is None or q["at"] > previous["created_at"])
                       and q["at"] <= m["created_at"]]
            if pending and ctx.in_r(m["created_at"]):
                found.append((m, pending[0]))
            previous = m
    found.sort(key=lambda x: (x[0]["created_at"], x[0]["conversation_id"], x[0]["id"]))
    rows = []
    for m, q in found:
        cid = m["conversation_id"]
        medium, ch_name, ch_display = ctx.channel_cells(cid)
        agent = m["agent_id"]
        rows.append([
            cid, medium, ch_name, ch_display, ctx.contact_of(cid),
            q["started_by"],
            q["handover_reason"] if q["started_by"] == "VA_HANDED_OVER_CONVERSATION" else None,
            ctx.ts(q["at"]), ctx.ts(m["created_at"]),
            fmt_duration(us_of(m["created_at"] - q["at"])),
            agent, ctx.attr(ctx.agents, agent, "name"), ctx.attr(ctx.agents, agent, "reference"),
            q["inbound_message_id"], m["id"], get(ctx.conversations.get(cid), "url"),
        ])
    return rows


def export_virtual_agents(ctx):
    convs = defaultdict(set)          # (virtual agent, channel) -> its conversations
    for m in ctx.messages.values():
        cid = m["conversation_id"]
        channel = ctx.channel_of(cid)
        if (ctx.is_outbound(m) and ctx.is_virtual(m["agent_id"]) and ctx.in_r(m["created_at"])
                and channel is not None and ctx.conv_ok(cid)):
            convs[(m["agent_id"], channel)].add(cid)

    def handed_over(cid, error):
        return any(q["started_by"] == "VA_HANDED_OVER_CONVERSATION" and ctx.in_r(q["at"])
                   and (q["handover_reason"] == "ERROR") == error
                   for q in ctx.qes_by_conv.get(cid, []))

    def va_resolved(cid):
        return any(s["status"] == "RESOLVED" and s["resolved_by"] == "VIRTUAL_AGENT"
                   and ctx.in_r(s["at"]) for s in ctx.scs_by_conv.get(cid, []))

    topic_convs = defaultdict(set)
    for a in ctx.topic_apps.values():
        channel = ctx.channel_of(a["conversation_id"])
        if a["agent_id"] is not None and ctx.in_r(a["at"]) and channel is not None:
            topic_convs[(a["agent_id"], channel)].add(a["conversation_id"])
    tagged_msgs, tag_count = defaultdict(set), defaultdict(int)
    for a in ctx.tag_apps.values():
        msg = ctx.messages.get(a["message_id"])
        if (msg is None or msg["deleted_at"] is not None or a["agent_id"] is None
                or not ctx.in_r(a["at"])):
            continue
        channel = ctx.channel_of(msg["conversation_id"])
        if channel is not None:
            tagged_msgs[(a["agent_id"], channel)].add(msg["id"])
            tag_count[(a["agent_id"], channel)] += 1

    rows = []
    for key in sorted(convs, key=lambda k: (ctx.agents[k[0]]["name"], k[0], k[1])):
        agent, channel = key
        its = convs[key]
        rows.append([
            agent, ctx.agents[agent]["name"], *channel_row_cells(ctx, channel),
            fmt_count(len(its)),
            fmt_count(sum(1 for c in its if handed_over(c, error=False))),
            fmt_count(sum(1 for c in its if handed_over(c, error=True))),
            fmt_count(sum(1 for c in its if va_resolved(c))),
            fmt_count(len(topic_convs[key])), fmt_count(len(tagged_msgs[key])),
            fmt_count(tag_count[key]),
        ])
    return rows


def export_contact_attributes(ctx):
    contacts = set()
    for m in ctx.messages.values():
        cid = m["conversation_id"]
        contact = ctx.contact_of(cid)
        if (m["deleted_at"] is None and m["direction"] == "INBOUND" and ctx.in_r(m["created_at"])
                and contact is not None and ctx.conv_ok(cid)):
            contacts.add(contact)
    rows = []
    for contact in sorted(contacts):
        rec = ctx.contacts.get(contact)
        attrs = sorted(ctx.attrs_by_contact.get(contact, []),
                       key=lambda a: (a["name"], a["attribute_id"]))
        for a in attrs:
            rows.append([contact, get(rec, "primary_identifier"), get(rec, "secondary_identifier"),
                         a["attribute_id"], a["name"], a["value"], a["attribute_type"]])
    return rows


EXPORTS = {
    "resolved-conversations": export_resolved_conversations,
    "open-conversations": export_open_conversations,
    "messages": export_messages,
    "teams": export_teams,
    "contacts": export_contacts,
    "topics": export_topics,
    "tags": export_tags,
    "agent-availability": export_agent_availability,
    "agent-metrics": export_agent_metrics,
    "responses": export_responses,
    "virtual-agents": export_virtual_agents,
    "contact-attributes": export_contact_attributes,
}

OPEN_DROPPED = {"Resolution Reason", "Resolve Comment", "Resolve Trigger", "CSAT Score",
                "CSAT Completed Status", "CSAT Follow Up Question", "CSAT Follow Up Answer"}


def header_for(slug, locale):
    index = 0 if locale == "en" else 1
    if slug == "open-conversations":
        pairs = [p for p in HEADERS["resolved-conversations"] if p[0] not in OPEN_DROPPED]
    else:
        pairs = HEADERS[slug]
    return [p[index] for p in pairs]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def fail(message):
    print(f"inbox_reference: error: {message}", file=sys.stderr)
    sys.exit(2)


def add_months(local, months):
    """Calendar-month addition on a naive local datetime (day clamped to the month's end)."""
    total = local.year * 12 + (local.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return local.replace(year=year, month=month, day=min(local.day, last_day))


def local_day_start(day, tz):
    """The first instant whose wall-clock date in tz is `day` (exports.md, "Days in a zone"):
    midnight's first occurrence (fold 0) when it occurs twice; when midnight falls in a gap, the
    first instant past the gap (the transition), found by bisection."""
    wall = datetime(day.year, day.month, day.day)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)   # read with the offset after the gap
    after = first                                               # read with the offset before it
    while after - before > ONE_US:
        middle = before + (after - before) // 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after


def parse_bound(text, tz, is_end, what):
    """A --from/--to value -> (instant, naive local wall time used for the span check)."""
    if DATE_RE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            fail(f"{what}: invalid date {text!r}")
        wall = datetime(day.year, day.month, day.day)
        instant = local_day_start(day + timedelta(days=1) if is_end else day, tz)
        return instant, wall
    instant = parse_timestamp(text)
    if instant is None:
        fail(f"{what}: expected a date YYYY-MM-DD or an RFC 3339 timestamp with offset, got {text!r}")
    return instant, instant.astimezone(tz).replace(tzinfo=None)


def main(argv=None):
    p = argparse.ArgumentParser(description="Reference implementation of the inbox exports.")
    p.add_argument("--log", action="append", required=True, help="NDJSON log (repeatable, in order)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--export", choices=sorted(EXPORTS))
    which.add_argument("--all", action="store_true", help="write all twelve exports")
    p.add_argument("--from", dest="from_", help="date YYYY-MM-DD or RFC 3339 timestamp")
    p.add_argument("--to", help="date YYYY-MM-DD (inclusive) or RFC 3339 timestamp (exclusive)")
    p.add_argument("--tz", default="UTC")
    p.add_argument("--channel", action="append", default=[])
    p.add_argument("--as-of", help="RFC 3339 timestamp; default now")
    p.add_argument("--header-locale", choices=("en", "fr"), default="en")
    p.add_argument("--content-policy", choices=("twitter", "all", "none"), default="twitter")
    p.add_argument("--scheduled", action="store_true", help="a scheduled export (no content)")
    p.add_argument("--span-months", type=int, default=18, help="range span limit (0: none)")
    p.add_argument("--retention-months", type=int, default=18, help="retention window (0: none)")
    p.add_argument("--rejects", help="write rejected records to this file (TSV)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--output", help="output file (single export)")
    out.add_argument("--output-dir", help="directory; files are named <slug>.csv")
    args = p.parse_args(argv)

    if args.all and args.output:
        fail("--all needs --output-dir")
    try:
        tz = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {args.tz!r}")
    if args.as_of:
        as_of = parse_timestamp(args.as_of)
        if as_of is None:
            fail(f"--as-of: invalid timestamp {args.as_of!r}")
    else:
        as_of = datetime.now(UTC)

    slugs = list(EXPORTS) if args.all else [args.export]
    range_optional = slugs == ["open-conversations"]
    r_start = r_end = None
    if args.from_ is None and args.to is None:
        if not range_optional:
            fail("--from and --to are required for this export")
    elif args.from_ is None or args.to is None:
        fail("--from and --to go together")
    else:
        r_start, from_wall = parse_bound(args.from_, tz, False, "--from")
        r_end, to_wall = parse_bound(args.to, tz, True, "--to")
        if to_wall < from_wall or r_end < r_start:
            fail("--to is before --from")
        if args.span_months and to_wall > add_months(from_wall, args.span_months):
            fail(f"the range spans more than {args.span_months} months")
        if args.retention_months:
            oldest = add_months(as_of.astimezone(tz).replace(tzinfo=None), -args.retention_months)
            if r_start.astimezone(tz).replace(tzinfo=None) < oldest:
                fail(f"the range starts before the {args.retention_months}-month retention window")

    store, rejects = load_logs(args.log)
    if args.rejects:
        with open(args.rejects, "w", encoding="utf-8") as fh:
            for source, lineno, raw, reason in rejects:
                fh.write(f"{source}\t{lineno}\t{reason}\t{raw.decode('utf-8', 'replace')}\n")
    unknown = [c for c in args.channel if c not in store["channel"]]
    if unknown:
        fail(f"unknown channel id(s): {', '.join(unknown)}")

    ctx = Context(store, tz, r_start, r_end, as_of, args.channel, args.content_policy,
                  args.scheduled)
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    for slug in slugs:
        path = args.output or os.path.join(args.output_dir, f"{slug}.csv")
        write_csv(path, header_for(slug, args.header_locale), EXPORTS[slug](ctx))
    return 0


if __name__ == "__main__":
    sys.exit(main())
