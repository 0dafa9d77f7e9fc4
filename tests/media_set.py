"""A generated media test set: camera-like JPEGs with EXIF, their re-encoded / resized / cropped /
edited variants, and unrelated pictures (tests/unit/test_integrity_set.py, the integration test).

The pictures are street-photo-like rather than flat shapes: a sky-to-road gradient, a horizon,
blocks of "buildings" with windows, a few objects, and sensor noise, so that JPEG re-encoding and
resizing behave as on photos. Everything is seeded: the same set every run.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

HANOI = (21.0245, 105.8532)


def street_photo(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    r = random.Random(seed)
    w, h = size
    horizon = int(h * r.uniform(0.35, 0.6))
    sky = np.array([r.randrange(120, 230), r.randrange(150, 240), r.randrange(180, 255)], float)
    road = np.array([r.randrange(40, 120)] * 3, float) + np.array([r.randrange(-10, 10)] * 3)
    t = np.linspace(0, 1, h)[:, None, None]
    ground = np.where(np.arange(h)[:, None, None] < horizon, sky * (1 - 0.4 * t), road * (0.7 + t))
    arr = np.broadcast_to(ground, (h, w, 3)).copy()
    img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    x = 0
    while x < w:  # a street front of buildings with windows
        bw = r.randrange(w // 12, w // 4)
        top = horizon - r.randrange(h // 10, int(h * 0.45))
        colour = tuple(r.randrange(60, 230) for _ in range(3))
        draw.rectangle([x, top, x + bw, horizon], fill=colour)
        for wy in range(top + 8, horizon - 12, r.randrange(18, 34)):
            for wx in range(x + 6, x + bw - 10, r.randrange(16, 30)):
                shade = tuple(max(0, c - r.randrange(40, 90)) for c in colour)
                draw.rectangle([wx, wy, wx + 8, wy + 10], fill=shade)
        x += bw + r.randrange(0, 12)
    for _ in range(r.randrange(4, 10)):  # vehicles, bins, potholes, signs
        x0, y0 = r.randrange(w), r.randrange(horizon, h)
        bw, bh = r.randrange(w // 20, w // 5), r.randrange(h // 30, h // 6)
        colour = tuple(r.randrange(256) for _ in range(3))
        (draw.ellipse if r.random() < 0.5 else draw.rectangle)([x0, y0, x0 + bw, y0 + bh], colour)
    noisy = np.asarray(img, float) + np.random.default_rng(seed).normal(0, 4, (h, w, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).filter(ImageFilter.SMOOTH)


def camera_exif(
    *,
    make: str | None = "samsung",
    model: str | None = "SM-A546E",
    software: str | None = "A546EXXU4BWL3",
    taken: str | None = "2026:02:13 08:45:10",
    modified: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = HANOI,
) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in ((0x010F, make), (0x0110, model), (0x0131, software)):
        if value is not None:
            exif[tag] = value
    if taken or modified:
        exif[0x0132] = modified or taken
    sub = exif.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
        sub[0x9004] = taken
    if offset:
        sub[0x9011] = offset
    if gps:
        g = exif.get_ifd(0x8825)
        for ref_tag, tag, value, refs in ((1, 2, gps[0], "NS"), (3, 4, gps[1], "EW")):
            a = abs(value)
            deg, minutes = int(a), int((a - int(a)) * 60)
            seconds = round(((a - deg) * 60 - minutes) * 60, 4)
            g[ref_tag] = refs[0] if value >= 0 else refs[1]
            g[tag] = (float(deg), float(minutes), seconds)
    return exif


def jpeg(
    img: Image.Image, quality: int = 92, exif: Image.Exif | None = None, **kw: object
) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}), **kw)
    return buf.getvalue()


def photo(seed: int, **exif: object) -> bytes:
    """A camera JPEG of street_photo(seed) with camera EXIF."""
    return jpeg(street_photo(seed), exif=camera_exif(**exif))  # type: ignore[arg-type]


def _crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    return img.crop((int(w * left), int(h * top), w - int(w * right), h - int(h * bottom)))


def reuse_variants(seed: int) -> dict[str, bytes]:
    """What a re-poster does to someone else's photo: chat-app re-encoding (EXIF stripped),
    resizing, small crops (<= 5 % off a side), screenshots, light retouching."""
    img = street_photo(seed)
    w, h = img.size
    r = random.Random(seed * 7 + 1)
    out = {
        "re-encoded q55": jpeg(img, 55),
        "resized 50% q75": jpeg(img.resize((w // 2, h // 2)), 75),
        "resized 30% q80": jpeg(img.resize((w * 3 // 10, h * 3 // 10)), 80),
        "upscaled 125%": jpeg(img.resize((w * 5 // 4, h * 5 // 4)), 85),
        "webp q60": _save(img, "WEBP", quality=60),
        "png screenshot": _save(img, "PNG"),
        "crop 5% left": jpeg(_crop(img, 0.05, 0, 0, 0), 80),
        "crop 4% bottom, resized": jpeg(_crop(img, 0, 0, 0, 0.04).resize((w // 2, h // 2)), 75),
        "crop 2% all round": jpeg(_crop(img, 0.02, 0.02, 0.02, 0.02), 80),
        "random crop <=3% a side": jpeg(
            _crop(img, *(r.uniform(0, 0.03) for _ in range(4))).resize((w * 3 // 4, h * 3 // 4)),
            70,
        ),
        "brightened 10%": jpeg(ImageEnhance.Brightness(img).enhance(1.1), 85),
        "more contrast": jpeg(ImageEnhance.Contrast(img).enhance(1.15), 85),
    }
    return out


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@dataclass(frozen=True)
class EditCase:
    name: str
    data: bytes
    edited: bool  # ground truth: an edit signal is expected
    reported_place: tuple[float, float] = HANOI


def edit_cases(seeds: range) -> list[EditCase]:
    """Genuine camera photos (several phones, firmware strings that look like versions, a clock
    with its own UTC offset, GPS within a few hundred metres) and edited or misattributed ones
    (editor in Software or only in XMP, EXIF stripped, camera missing, modified long after
    capture, taken days before, taken kilometres away). Reported time: 2026-02-13 09:00 Hanoi."""
    out: list[EditCase] = []
    phones = [
        ("samsung", "SM-A546E", "A546EXXU4BWL3"),
        ("Apple", "iPhone 13", "17.1.2"),
        ("Xiaomi", "Redmi Note 12", "MIUI V14.0.5.0.TMTMIXM"),
        ("OPPO", "CPH2483", None),
        ("vivo", "V2250", "PD2250_A_13.1.9.3.W10"),
    ]
    for s in seeds:
        make, model, sw = phones[s % len(phones)]
        img = street_photo(5000 + s, (480, 360))
        base = {"make": make, "model": model, "software": sw}
        near = (HANOI[0] + 0.002 * ((s % 3) - 1), HANOI[1] + 0.002)  # ~250 m
        out += [
            EditCase(f"{s} genuine", jpeg(img, exif=camera_exif(**base, gps=near)), False),
            EditCase(
                f"{s} genuine, clock +09:00",
                jpeg(img, exif=camera_exif(**base, taken="2026:02:13 10:50:00", offset="+09:00")),
                False,
            ),
            EditCase(
                f"{s} genuine, 2 days before",
                jpeg(img, exif=camera_exif(**base, taken="2026:02:11 17:20:00")),
                False,
            ),
            EditCase(
                f"{s} genuine, re-saved 1 min later",
                jpeg(img, exif=camera_exif(**base, modified="2026:02:13 08:46:00")),
                False,
            ),
        ]
        out += [
            EditCase(
                f"{s} photoshop",
                jpeg(img, exif=camera_exif(**{**base, "software": "Adobe Photoshop 25.1"})),
                True,
            ),
            EditCase(
                f"{s} snapseed re-save",
                jpeg(
                    img,
                    exif=camera_exif(
                        **{**base, "software": "Snapseed 2.0"}, modified="2026:02:13 11:02:00"
                    ),
                ),
                True,
            ),
            EditCase(f"{s} exif stripped", jpeg(img), True),
            EditCase(f"{s} png screenshot", _save(img, "PNG"), True),
            EditCase(
                f"{s} camera removed",
                jpeg(img, exif=camera_exif(make=None, model=None, software=None)),
                True,
            ),
            EditCase(
                f"{s} taken 10 days before",
                jpeg(img, exif=camera_exif(**base, taken="2026:02:03 08:00:00")),
                True,
            ),
            EditCase(
                f"{s} taken 3 km away",
                jpeg(img, exif=camera_exif(**base, gps=(HANOI[0] + 0.027, HANOI[1]))),
                True,
            ),
            EditCase(
                f"{s} modified 2 h after capture",
                jpeg(img, exif=camera_exif(**base, modified="2026:02:13 10:45:10")),
                True,
            ),
        ]
    return out
