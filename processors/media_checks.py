"""Genuine media (domain.md §3): real type, limits, bombs, near-duplicates, signs of editing.

Pure functions on bytes (docs/integrity.md):

- ``sniff(data)``: the real type from the magic numbers (JPEG, PNG, WebP, HEIC, MP4, QuickTime,
  PDF; GIF/BMP/TIFF/AVIF/3GP are recognised to be refused by name). The declared type is never
  trusted: ``inspect`` compares it with ``sniff`` (``media_type_mismatch``).
- ``inspect(data, declared, limits=...)``: type, byte limit, pixel limit read from the header
  *before* decoding (decompression bombs), structure / decode check; raises ``MediaError(code)``.
  ``check_batch`` adds the count limit.
- ``perceptual_hash(data)``: a 64-bit pHash (DCT of a 32×32 grayscale image, ``imagehash``)
  after applying the EXIF orientation; ``perceptual_hashes(data)`` adds the hashes of 5 standard
  crops, to store; ``hamming(a, b)``; ``NearDupIndex`` finds stored hashes within a distance
  without scanning them all (multi-index hashing), and serialises to JSON-ready dicts (or bucket
  by bucket, for a faust table).
- ``edit_signals(data, reported_at=..., reported_place=...)``: EXIF signs that a photo was edited
  or is not what it claims: editing software, no camera make/model, modified after capture,
  capture time or GPS position far from what the sender reported.

Pillow decodes (and ``pillow-heif``, when installed, HEIC); nothing here touches the network,
Kafka or storage.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import combinations
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC decoding is optional: without it HEIC is still typed and bomb-checked, not hashed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC_DECODING = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIC_DECODING = False

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})
DOCUMENT_TYPES = frozenset({"application/pdf"})
ALLOWED_TYPES = IMAGE_TYPES | VIDEO_TYPES | DOCUMENT_TYPES
# Declared names that mean the same type.
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "image/heif": "image/heic",
    "image/heic-sequence": "image/heic",
    "video/x-m4v": "video/mp4",
}


class MediaError(ValueError):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Limits:
    max_image_bytes: int = 20 * 1024 * 1024
    max_video_bytes: int = 200 * 1024 * 1024
    max_document_bytes: int = 20 * 1024 * 1024
    max_files: int = 10
    max_total_bytes: int = 500 * 1024 * 1024
    # 100 MP: above every phone camera in use (up to 200 MP sensors bin to 12-50 MP by default);
    # a decoded RGB image of this size is ~300 MB.
    max_pixels: int = 100_000_000

    def max_bytes(self, mime: str) -> int:
        if mime in VIDEO_TYPES:
            return self.max_video_bytes
        if mime in DOCUMENT_TYPES:
            return self.max_document_bytes
        return self.max_image_bytes


@dataclass(frozen=True, slots=True)
class MediaInfo:
    mime: str
    size: int
    width: int | None = None
    height: int | None = None


# --- type from the bytes --------------------------------------------------------------------------
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_QT_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def _brands(data: bytes) -> set[bytes]:
    size = struct.unpack(">I", data[:4])[0]
    end = min(len(data), size if size >= 16 else 16)
    return {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}


def sniff(data: bytes) -> str | None:
    """The media type the bytes are, from their magic numbers; None when unknown."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[:2] == b"BM" and len(data) >= 26:
        return "image/bmp"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brands = _brands(data)
        major = data[8:12]
        if brands & _HEIC_BRANDS:
            return "image/heic"
        if brands & _AVIF_BRANDS:
            return "image/avif"
        if major in _HEIF_BRANDS:
            return "image/heic"
        if major == b"qt  ":
            return "video/quicktime"
        if major[:3] in (b"3gp", b"3g2"):
            return "video/3gpp"
        if major in _AUDIO_BRANDS:
            return "audio/mp4"
        return "video/mp4"
    if len(data) >= 8 and data[4:8] in _QT_ATOMS:
        return "video/quicktime"  # QuickTime files from before the ftyp atom
    return None


# --- dimensions from the header -------------------------------------------------------------------
def _u16(data: bytes, at: int, order: str = ">") -> int:
    return struct.unpack(f"{order}H", data[at : at + 2])[0]


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise MediaError("media_corrupt", "JPEG marker expected")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            i += 2
            continue
        if marker in (0xD9, 0xDA):
            break
        length = _u16(data, i + 2)
        if length < 2:
            raise MediaError("media_corrupt", "JPEG segment length")
        if marker in _SOF:
            if i + 9 > len(data):
                break
            return _u16(data, i + 7), _u16(data, i + 5)
        i += 2 + length
    raise MediaError("media_corrupt", "JPEG without a frame header")


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise MediaError("media_corrupt", "PNG without IHDR")
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return _u16(data, 26, "<") & 0x3FFF, _u16(data, 28, "<") & 0x3FFF
    raise MediaError("media_corrupt", "WebP without a known image chunk")


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO-BMFF boxes in data[start:end]: (type, payload start, box end); raises on bad sizes."""
    i = start
    while i < end:
        if i + 8 > end:
            raise MediaError("media_corrupt", "truncated box header")
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1:
            if i + 16 > end:
                raise MediaError("media_corrupt", "truncated box header")
            size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            raise MediaError("media_corrupt", f"box {kind!r} overruns the file")
        yield kind, i + header, i + size
        i += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, s, e in _boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def _heic_size(data: bytes) -> tuple[int, int]:
    meta = _child(data, 0, len(data), b"meta")
    iprp = meta and _child(data, meta[0] + 4, meta[1], b"iprp")  # meta is a full box
    ipco = iprp and _child(data, iprp[0], iprp[1], b"ipco")
    sizes = []
    if ipco:
        for k, s, e in _boxes(data, ipco[0], ipco[1]):
            if k == b"ispe" and e - s >= 12:
                sizes.append(struct.unpack(">II", data[s + 4 : s + 12]))
    if not sizes:
        raise MediaError("media_corrupt", "HEIC without image size (ispe)")
    return max(sizes, key=lambda wh: wh[0] * wh[1])  # the full image, not a thumbnail or tile


def image_size(data: bytes, mime: str | None = None) -> tuple[int, int]:
    """(width, height) read from the header only — no pixel is decoded."""
    mime = mime or sniff(data)
    try:
        if mime == "image/jpeg":
            return _jpeg_size(data)
        if mime == "image/png":
            return _png_size(data)
        if mime == "image/webp":
            return _webp_size(data)
        if mime == "image/heic":
            return _heic_size(data)
    except struct.error as exc:
        raise MediaError("media_corrupt", "truncated header") from exc
    raise MediaError("media_type_not_allowed", str(mime))


def _check_video(data: bytes) -> None:
    kinds = [k for k, _, _ in _boxes(data, 0, len(data))]
    if b"moov" not in kinds:
        raise MediaError("media_corrupt", "video without a movie header (moov)")


def _check_pdf(data: bytes) -> None:
    if b"%%EOF" not in data[-2048:]:
        raise MediaError("media_corrupt", "PDF without %%EOF (truncated)")


# --- inspection -----------------------------------------------------------------------------------
def normalise_type(declared: str) -> str:
    t = declared.split(";", 1)[0].strip().lower()
    return ALIASES.get(t, t)


def inspect(
    data: bytes,
    declared: str | None = None,
    *,
    limits: Limits | None = None,
    allowed: Iterable[str] = ALLOWED_TYPES,
    decode: bool = True,
) -> MediaInfo:
    """Check one file; ``MediaError`` with the first rule it breaks.

    Codes, in the order checked: ``media_empty``, ``media_type_unknown`` (no known magic number),
    ``media_type_not_allowed`` (a known type that is not accepted: GIF, AVIF, 3GP...),
    ``media_type_mismatch`` (the declared type is not the real one), ``media_too_large`` (bytes),
    ``media_too_many_pixels`` (width × height from the header, before decoding),
    ``media_corrupt`` (header, box structure or pixel data broken or truncated).
    ``decode=False`` skips the full decode of images (headers are still read).
    """
    limits = limits or Limits()
    if not data:
        raise MediaError("media_empty")
    mime = sniff(data)
    if mime is None:
        raise MediaError("media_type_unknown")
    if mime not in set(allowed):
        raise MediaError("media_type_not_allowed", mime)
    if declared is not None and normalise_type(declared) != mime:
        raise MediaError("media_type_mismatch", f"declared {declared}, content is {mime}")
    if len(data) > limits.max_bytes(mime):
        raise MediaError("media_too_large", f"{len(data)} > {limits.max_bytes(mime)} bytes")
    if mime in VIDEO_TYPES:
        _check_video(data)
        return MediaInfo(mime, len(data))
    if mime in DOCUMENT_TYPES:
        _check_pdf(data)
        return MediaInfo(mime, len(data))
    width, height = image_size(data, mime)
    _check_pixels(width, height, limits)
    if decode and (mime != "image/heic" or HEIC_DECODING):
        _open(data, limits).close()
    return MediaInfo(mime, len(data), width, height)


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width <= 0 or height <= 0:
        raise MediaError("media_corrupt", f"image size {width}x{height}")
    if width * height > limits.max_pixels:
        raise MediaError("media_too_many_pixels", f"{width}x{height} > {limits.max_pixels} pixels")


def _open(data: bytes, limits: Limits, *, draft: tuple[int, int] | None = None) -> Image.Image:
    """A fully decoded image (pixel limit already checked); ``media_corrupt`` when it fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > limits.max_pixels:
                raise MediaError("media_too_many_pixels", f"{img.width}x{img.height}")
            if draft and img.format == "JPEG":
                img.draft("RGB", draft)
            img.load()
            return img
    except Image.DecompressionBombError as exc:
        raise MediaError("media_too_many_pixels", str(exc)) from exc
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as exc:
        if isinstance(exc, MediaError):
            raise
        raise MediaError("media_corrupt", str(exc) or type(exc).__name__) from exc


@dataclass(frozen=True, slots=True)
class Problem:
    index: int | None  # None: the batch as a whole
    code: str
    detail: str = ""


def check_batch(
    items: Sequence[tuple[bytes, str | None]],
    *,
    limits: Limits | None = None,
    allowed: Iterable[str] = ALLOWED_TYPES,
    decode: bool = True,
) -> tuple[list[MediaInfo | None], list[Problem]]:
    """``inspect`` each (bytes, declared type), plus ``too_many_media`` (count) and
    ``media_total_too_large`` (sum of bytes). Returns the infos (None where refused), problems."""
    limits = limits or Limits()
    problems: list[Problem] = []
    if len(items) > limits.max_files:
        problems.append(Problem(None, "too_many_media", f"{len(items)} > {limits.max_files}"))
    total = sum(len(d) for d, _ in items)
    if total > limits.max_total_bytes:
        problems.append(
            Problem(None, "media_total_too_large", f"{total} > {limits.max_total_bytes}")
        )
    infos: list[MediaInfo | None] = []
    allowed = frozenset(allowed)
    for i, (data, declared) in enumerate(items):
        try:
            infos.append(inspect(data, declared, limits=limits, allowed=allowed, decode=decode))
        except MediaError as exc:
            infos.append(None)
            problems.append(Problem(i, exc.code, exc.detail))
    return infos, problems


# --- perceptual hash ------------------------------------------------------------------------------
HASH_BITS = 64
# Near-duplicate threshold (Hamming distance of two 64-bit pHashes), measured in
# tests/unit/test_media_checks.py and docs/integrity.md: re-encoding (JPEG q40-95, PNG, WebP) and
# resizing (25 %-150 %) move a pHash by <= 2 bits; crops move it more (a 5 % strip off one side:
# up to 16 bits), so the index also stores the hashes of 5 standard crops of every image
# (``perceptual_hashes``), which brings small crops (<= 5 % off any sides) to <= 8 bits. Different
# pictures are >= 12 bits from every stored variant (about 32 on average).
NEAR_DUPLICATE_DISTANCE = 10
CROP_FRACTION = 0.05


def _hash_image(img: Image.Image, algorithm: str) -> int:
    import imagehash  # imported here: only the hashing needs it (and numpy/scipy behind it)

    fn = {"phash": imagehash.phash, "dhash": imagehash.dhash}[algorithm]
    return int(str(fn(img)), 16)


def _decoded(data: bytes, limits: Limits) -> Image.Image:
    info = inspect(data, limits=limits, allowed=IMAGE_TYPES, decode=False)
    if info.mime == "image/heic" and not HEIC_DECODING:
        raise MediaError("media_type_not_allowed", "HEIC decoding needs pillow-heif")
    img = _open(data, limits, draft=(512, 512))
    rotated = ImageOps.exif_transpose(img)
    if rotated is not None and rotated is not img:
        img.close()
        img = rotated
    return img.convert("RGB") if img.mode not in ("RGB", "L") else img


def perceptual_hash(data: bytes, *, limits: Limits | None = None, algorithm: str = "phash") -> int:
    """The 64-bit perceptual hash of an image (``phash`` or ``dhash``), as an int.

    The file is inspected first (type, pixel limit: a bomb is refused before decoding); the
    EXIF orientation is applied so a re-saved, rotated copy hashes alike. Query the index with
    this hash.
    """
    img = _decoded(data, limits or Limits())
    try:
        return _hash_image(img, algorithm)
    finally:
        img.close()


def perceptual_hashes(
    data: bytes,
    *,
    limits: Limits | None = None,
    algorithm: str = "phash",
    crop: float = CROP_FRACTION,
) -> list[int]:
    """The hash of the image, then of its crops without ``crop`` of the left, right, top,
    bottom, and without ``crop / 2`` all round: store them all in the index under one ref so a
    slightly cropped copy is found (one decode)."""
    img = _decoded(data, limits or Limits())
    try:
        w, h = img.size
        dx, dy = round(w * crop), round(h * crop)
        boxes = [
            (0, 0, w, h),
            (dx, 0, w, h),
            (0, 0, w - dx, h),
            (0, dy, w, h),
            (0, 0, w, h - dy),
            (dx // 2, dy // 2, w - dx // 2, h - dy // 2),
        ]
        out = []
        for b in boxes:
            if b[2] > b[0] and b[3] > b[1]:
                out.append(_hash_image(img if b == boxes[0] else img.crop(b), algorithm))
        return list(dict.fromkeys(out))
    finally:
        img.close()


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _band_sizes(bands: int) -> list[int]:
    return [HASH_BITS // bands + (1 if i < HASH_BITS % bands else 0) for i in range(bands)]


@dataclass
class NearDupIndex:
    """Multi-index hashing over 64-bit hashes.

    The hash is cut into ``bands`` contiguous pieces. Two hashes within ``max_distance`` differ
    in at most ``max_distance // bands`` bits in at least one piece (pigeonhole), so a query
    only reads the buckets of its own pieces and of their neighbours within that radius. With
    the default ``bands = max_distance + 1`` the radius is 0: a query reads exactly
    ``max_distance + 1`` buckets. Fewer, wider bands (e.g. 4 × 16 bits, radius 2 for 8-11) keep
    buckets small for very large collections at the price of more probes.

    Buckets are keyed ``"<band>:<hex piece>"`` and hold ``[hash_hex, ref]`` pairs, so the index
    can live in a key-value table: ``add_keys`` says where an entry goes, ``probe_keys`` which
    buckets a query reads, ``match`` filters what those buckets hold.
    """

    max_distance: int = NEAR_DUPLICATE_DISTANCE
    bands: int | None = None
    buckets: dict[str, list[list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.bands is None:
            self.bands = self.max_distance + 1
        if not 1 <= self.bands <= HASH_BITS or self.max_distance < 0:
            raise ValueError("need 1 <= bands <= 64 and max_distance >= 0")
        self._sizes = _band_sizes(self.bands)
        self._radius = self.max_distance // self.bands

    def _pieces(self, h: int) -> list[tuple[int, int, int]]:
        out, shift = [], HASH_BITS
        for band, size in enumerate(self._sizes):
            shift -= size
            out.append((band, (h >> shift) & ((1 << size) - 1), size))
        return out

    def add_keys(self, h: int) -> list[str]:
        return [f"{band}:{piece:x}" for band, piece, _ in self._pieces(h)]

    def probe_keys(self, h: int, max_distance: int | None = None) -> list[str]:
        d = self.max_distance if max_distance is None else max_distance
        if d > self.max_distance:
            raise ValueError(f"this index answers distances up to {self.max_distance}, not {d}")
        radius = d // self.bands
        keys = []
        for band, piece, size in self._pieces(h):
            for r in range(radius + 1):
                for bits in combinations(range(size), r):
                    flipped = piece
                    for b in bits:
                        flipped ^= 1 << b
                    keys.append(f"{band}:{flipped:x}")
        return keys

    @staticmethod
    def match(h: int, entries: Iterable[Sequence[str]], max_distance: int) -> list[tuple[str, int]]:
        """(ref, distance) of the entries within ``max_distance``, nearest first, once each."""
        best: dict[str, int] = {}
        for hash_hex, ref in entries:
            d = hamming(h, int(hash_hex, 16))
            if d <= max_distance and d < best.get(ref, HASH_BITS + 1):
                best[ref] = d
        return sorted(best.items(), key=lambda rd: (rd[1], rd[0]))

    def add(self, h: int | Iterable[int], ref: str) -> None:
        """Store a hash, or all the hashes of one image (``perceptual_hashes``), under ``ref``."""
        for one in [h] if isinstance(h, int) else h:
            entry = [f"{one:016x}", ref]
            for key in self.add_keys(one):
                bucket = self.buckets.setdefault(key, [])
                if entry not in bucket:
                    bucket.append(entry)

    def remove(self, ref: str) -> None:
        for key in list(self.buckets):
            kept = [e for e in self.buckets[key] if e[1] != ref]
            if kept:
                self.buckets[key] = kept
            else:
                del self.buckets[key]

    def query(self, h: int, max_distance: int | None = None) -> list[tuple[str, int]]:
        d = self.max_distance if max_distance is None else max_distance
        entries = (e for key in self.probe_keys(h, d) for e in self.buckets.get(key, ()))
        return self.match(h, entries, d)

    def __len__(self) -> int:
        return len({e[1] for bucket in self.buckets.values() for e in bucket})

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": 1,
            "bits": HASH_BITS,
            "max_distance": self.max_distance,
            "bands": self.bands,
            "buckets": {k: [list(e) for e in v] for k, v in self.buckets.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NearDupIndex:
        if d.get("format") != 1 or d.get("bits") != HASH_BITS:
            raise ValueError("not a NearDupIndex dict (format 1, 64 bits)")
        buckets = {str(k): [[str(h), str(r)] for h, r in v] for k, v in d["buckets"].items()}
        return cls(int(d["max_distance"]), int(d["bands"]), buckets)


# --- signs of editing -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Signal:
    code: str
    detail: str = ""


# Lower-case names found in the Software / ProcessingSoftware tags or the XMP CreatorTool of
# edited photos. Camera firmware and phone OS versions (e.g. "17.1.2", "G998BXXU5CVDD") are not.
EDITING_SOFTWARE = (
    "photoshop",
    "lightroom",
    "adobe",
    "snapseed",
    "picsart",
    "gimp",
    "meitu",
    "facetune",
    "vsco",
    "canva",
    "pixlr",
    "photoscape",
    "affinity photo",
    "capture one",
    "luminar",
    "airbrush",
    "beautyplus",
    "b612",
    "ulike",
    "remini",
    "polarr",
    "fotor",
    "photodirector",
    "pixelmator",
    "paint.net",
    "faceapp",
    "picsay",
    "photo lab",
    "youcam",
    "inshot",
    "lightx",
)

VN_TZ = timezone(timedelta(hours=7))
_TAG_MAKE, _TAG_MODEL, _TAG_SOFTWARE, _TAG_DATETIME = 0x010F, 0x0110, 0x0131, 0x0132
_TAG_PROCESSING_SOFTWARE, _TAG_HOST = 0x000B, 0x013C
_IFD_EXIF, _IFD_GPS = 0x8769, 0x8825
_TAG_ORIGINAL, _TAG_DIGITIZED, _TAG_OFFSET_ORIGINAL = 0x9003, 0x9004, 0x9011


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))


def _exif_time(value: Any, offset: Any, tz: timezone) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if isinstance(offset, str):
        try:
            return datetime.strptime(
                f"{t:%Y-%m-%d %H:%M:%S}{offset.strip()}", "%Y-%m-%d %H:%M:%S%z"
            )
        except ValueError:
            pass
    return t.replace(tzinfo=tz)


def _gps_degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    return -deg if str(ref).strip().upper() in ("S", "W") else deg


def _xmp_creator_tool(img: Image.Image) -> str:
    raw = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or b""
    text = raw.decode("utf-8", "ignore") if isinstance(raw, bytes) else str(raw)
    for marker in ("CreatorTool>", 'CreatorTool="'):
        at = text.find(marker)
        if at >= 0:
            rest = text[at + len(marker) :]
            return rest[: rest.find("<" if marker.endswith(">") else '"')]
    return "photoshop" if "photoshop:" in text else ""


def edit_signals(
    data: bytes,
    *,
    reported_at: datetime | None = None,
    reported_place: tuple[float, float] | None = None,
    max_time_gap: timedelta = timedelta(hours=72),
    max_distance_m: float = 500.0,
    max_modify_gap: timedelta = timedelta(minutes=5),
    camera_tz: timezone = VN_TZ,
    limits: Limits | None = None,
) -> list[Signal]:
    """Signs that a photo was edited or is not what the sender reports (for review, not proof).

    Codes: ``exif_missing`` (no EXIF at all: screenshots, pictures saved from the web or a chat
    app), ``exif_editing_software`` (Software / ProcessingSoftware / XMP CreatorTool names an
    editor), ``exif_camera_missing`` (no Make or Model), ``exif_modified_after_capture``
    (DateTime later than DateTimeOriginal by more than ``max_modify_gap``),
    ``exif_capture_time_missing`` (``reported_at`` given, no DateTimeOriginal/Digitized),
    ``exif_capture_time_far`` (capture more than ``max_time_gap`` from ``reported_at``; camera
    local time is ``OffsetTimeOriginal`` if present, else ``camera_tz``),
    ``exif_gps_far`` (GPS position more than ``max_distance_m`` from ``reported_place``).
    Only for images: a video or document raises ``MediaError`` (``media_type_not_allowed``);
    HEIC gives no signal when ``pillow-heif`` is not installed.
    """
    limits = limits or Limits()
    info = inspect(data, limits=limits, allowed=IMAGE_TYPES, decode=False)
    if info.mime == "image/heic" and not HEIC_DECODING:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            exif = img.getexif()
            exif_ifd = dict(exif.get_ifd(_IFD_EXIF))
            gps = dict(exif.get_ifd(_IFD_GPS))
            creator = _xmp_creator_tool(img)
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise MediaError("media_corrupt", f"metadata: {exc}") from exc

    out: list[Signal] = []
    if not exif:
        out.append(Signal("exif_missing", "no camera metadata"))
    software = [
        str(v).strip("\x00 ")
        for v in (exif.get(_TAG_SOFTWARE), exif.get(_TAG_PROCESSING_SOFTWARE), creator)
        if v
    ]
    editors = [s for s in software if any(name in s.lower() for name in EDITING_SOFTWARE)]
    if editors:
        out.append(Signal("exif_editing_software", "; ".join(dict.fromkeys(editors))))
    if exif and not (exif.get(_TAG_MAKE) and exif.get(_TAG_MODEL)):
        out.append(Signal("exif_camera_missing", "no camera make/model"))

    offset = exif_ifd.get(_TAG_OFFSET_ORIGINAL)
    captured = _exif_time(exif_ifd.get(_TAG_ORIGINAL), offset, camera_tz) or _exif_time(
        exif_ifd.get(_TAG_DIGITIZED), offset, camera_tz
    )
    modified = _exif_time(exif.get(_TAG_DATETIME), offset, camera_tz)
    if captured and modified and modified - captured > max_modify_gap:
        out.append(
            Signal(
                "exif_modified_after_capture",
                f"captured {captured:%Y-%m-%d %H:%M}, modified {modified:%Y-%m-%d %H:%M}",
            )
        )
    if reported_at is not None:
        if captured is None:
            if exif:
                out.append(Signal("exif_capture_time_missing", "no DateTimeOriginal"))
        else:
            at = reported_at if reported_at.tzinfo else reported_at.replace(tzinfo=camera_tz)
            gap = captured - at
            if abs(gap) > max_time_gap:
                when = "after" if gap > timedelta(0) else "before"
                out.append(
                    Signal(
                        "exif_capture_time_far",
                        f"captured {captured.isoformat()}, {abs(gap)} {when} the reported time",
                    )
                )
    if reported_place is not None and gps:
        lat = _gps_degrees(gps.get(2), gps.get(1))
        lon = _gps_degrees(gps.get(4), gps.get(3))
        if lat is not None and lon is not None:
            d = haversine_m((lat, lon), reported_place)
            if d > max_distance_m:
                # the distance only: the photo's position could be the sender's home
                out.append(Signal("exif_gps_far", f"taken {d:.0f} m from the reported place"))
    return out
