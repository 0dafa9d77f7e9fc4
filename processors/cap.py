"""OASIS CAP 1.2 messages and the Atom feed of active alerts, built from a warning's state.

Every version that went out is one CAP message: version 1 ``Alert``, an update ``Update``, a
cancellation or supersession ``Cancel``; later versions reference every earlier one
(``sender,identifier,sent``), which is how aggregators link them. One ``info`` block per
language (vi-VN always, en-US when the English text is there); one ``area`` per warning with the
circles and polygons as drawn plus a ``geocode`` per touched commune (statistics-office code).

Pure: builds bytes with the standard library's ElementTree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
ICT = dt.timezone(dt.timedelta(hours=7), "ICT")  # Vietnam: UTC+7, no daylight saving
CAP_CATEGORY = {
    "flood": "Met",
    "storm": "Met",
    "power_outage": "Infra",
    "water_outage": "Infra",
    "traffic": "Transport",
    "epidemic": "Health",
    "public_order": "Security",
    "administrative": "Other",
}
EVENT = {
    "flood": ("Lũ lụt, ngập úng", "Flood"),
    "storm": ("Bão, giông lốc", "Storm"),
    "power_outage": ("Mất điện", "Power outage"),
    "water_outage": ("Mất nước", "Water outage"),
    "traffic": ("Giao thông", "Traffic"),
    "epidemic": ("Dịch bệnh", "Epidemic"),
    "public_order": ("Trật tự công cộng", "Public order"),
    "administrative": ("Thông báo hành chính", "Administrative notice"),
}
MSG_TYPE = {"alert": "Alert", "update": "Update", "cancel": "Cancel", "supersede": "Cancel"}
GEOCODE_NAME = "VN-GSO-commune"


def cap_time(ms: int) -> str:
    """CAP's dateTime form: local time with offset, no fractions, never 'Z'."""
    return dt.datetime.fromtimestamp(ms / 1000, ICT).isoformat(timespec="seconds")


def identifier(warning_id: str, version: int) -> str:
    return f"vn.hanoi.pakn.warning.{warning_id}.v{version}"


def _kind(state: Mapping[str, Any], version: int) -> str:
    if version == 1:
        return "alert"
    if version < state["version"]:
        return "update"
    return {"cancelled": "cancel", "superseded": "supersede"}.get(state["status"], "update")


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _ring(ring: Iterable[Mapping[str, float]]) -> str:
    pts = [(p["lat"], p["lon"]) for p in ring]
    if pts[0] != pts[-1]:
        pts.append(pts[0])  # CAP polygons are closed
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in pts)


def build_cap(
    state: Mapping[str, Any],
    sender: str,
    version: int | None = None,
    commune_names: Mapping[str, str] | None = None,
    web: str | None = None,
) -> bytes:
    """The CAP 1.2 message of one sent version (default: the latest) of a warning."""
    version = version or state["version"]
    sent = dict(state["sent"])
    if version not in sent:
        raise ValueError(f"version {version} of {state['warning_id']} was never sent")
    kind = _kind(state, version)
    c = state["content"]
    ET.register_namespace("", CAP_NS)
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", identifier(state["warning_id"], version))
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_time(sent[version]))
    _sub(alert, "status", "Actual")
    _sub(alert, "msgType", MSG_TYPE[kind])
    _sub(alert, "source", state["issuing_unit"])
    _sub(alert, "scope", "Public")
    if kind == "supersede" and state.get("superseded_by"):
        _sub(alert, "note", f"Superseded by {state['superseded_by']}")
    elif kind == "cancel":
        _sub(alert, "note", "Cancelled")
    earlier = [v for v in sorted(sent) if v < version]
    if earlier:
        wid = state["warning_id"]
        refs = [f"{sender},{identifier(wid, v)},{cap_time(sent[v])}" for v in earlier]
        _sub(alert, "references", " ".join(refs))
    names = commune_names or {}
    languages = [("vi", "vi-VN")] + ([("en", "en-US")] if c.get("headline_en") else [])
    for lang, tag in languages:
        info = _sub(alert, "info")
        _sub(info, "language", tag)
        _sub(info, "category", CAP_CATEGORY[c["category"]])
        _sub(info, "event", EVENT[c["category"]][0 if lang == "vi" else 1])
        _sub(info, "responseType", "AllClear" if kind in ("cancel", "supersede") else "Monitor")
        _sub(info, "urgency", c["urgency"])
        _sub(info, "severity", c["severity"])
        _sub(info, "certainty", c.get("certainty") or "Likely")
        _sub(info, "eventCode")
        code = info[-1]
        _sub(code, "valueName", "pakn-category")
        _sub(code, "value", c["category"])
        _sub(info, "effective", cap_time(c["effective"]))
        _sub(info, "expires", cap_time(c["expires"]))
        _sub(info, "senderName", state["issuing_unit"])
        _sub(info, "headline", c[f"headline_{lang}"])
        _sub(info, "description", c.get(f"text_{lang}") or c["text_vi"])
        instruction = c.get(f"instruction_{lang}") or c.get("instruction_vi")
        if instruction:
            _sub(info, "instruction", instruction)
        if web:
            _sub(info, "web", web)
        area = _sub(info, "area")
        communes = state["communes"]
        desc = ", ".join(names.get(k, k) for k in communes) or "Hà Nội"
        _sub(area, "areaDesc", desc)
        for ring in c["area"].get("polygons") or ():
            _sub(area, "polygon", _ring(ring))
        for circle in c["area"].get("circles") or ():
            _sub(area, "circle", f"{circle['lat']:.6f},{circle['lon']:.6f} {circle['radius_km']:g}")
        for k in communes:
            geocode = _sub(area, "geocode")
            _sub(geocode, "valueName", GEOCODE_NAME)
            _sub(geocode, "value", k)
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True)


def _atom(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def atom_feed(states: Iterable[Mapping[str, Any]], base_url: str, now_ms: int, title: str) -> bytes:
    """Atom 1.0 feed of the given (active) warnings; each entry links its CAP message."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    items = list(states)
    _atom(feed, "id", f"{base_url}/v1/warnings.atom")
    _atom(feed, "title", title)
    updated = max([s["updated_at"] for s in items], default=now_ms)
    _atom(feed, "updated", cap_time(updated))
    _atom(feed, "link", rel="self", href=f"{base_url}/v1/warnings.atom")
    author = _atom(feed, "author")
    _atom(author, "name", "PAKN Hà Nội")
    for s in items:
        entry = _atom(feed, "entry")
        _atom(entry, "id", f"urn:pakn:warning:{s['warning_id']}:v{s['version']}")
        _atom(entry, "title", s["content"]["headline_vi"])
        _atom(entry, "updated", cap_time(s["updated_at"]))
        _atom(entry, "summary", s["content"]["text_vi"])
        _atom(
            entry,
            "link",
            rel="alternate",
            type="application/cap+xml",
            href=f"{base_url}/v1/warnings/{s['warning_id']}.cap",
        )
        _atom(entry, "category", term=s["content"]["category"])
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
