"""Genuine media (processors/media_checks.py): real type, limits, bombs, pHash, index, EXIF."""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from datetime import UTC, datetime, timedelta, timezone
from statistics import mean

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from gateway.http.errors import FIELD_MESSAGES
from processors import media_checks as mc
from processors.media_checks import (
    NEAR_DUPLICATE_DISTANCE,
    Limits,
    MediaError,
    NearDupIndex,
    Signal,
    check_batch,
    edit_signals,
    hamming,
    haversine_m,
    image_size,
    inspect,
    perceptual_hash,
    perceptual_hashes,
    sniff,
)
from tests.media_set import camera_exif


# --- building test files --------------------------------------------------------------------------
def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A random 'photo': coloured rectangles, ellipses and thick lines on a coloured ground."""
    r = random.Random(seed)
    img = Image.new("RGB", size, tuple(r.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(25):
        x0, y0 = r.randrange(w), r.randrange(h)
        box = [x0, y0, x0 + r.randrange(w // 30, w // 2), y0 + r.randrange(h // 20, h // 2)]
        colour = tuple(r.randrange(256) for _ in range(3))
        kind = r.randrange(3)
        if kind == 0:
            draw.rectangle(box, fill=colour)
        elif kind == 1:
            draw.ellipse(box, fill=colour)
        else:
            draw.line(box, fill=colour, width=r.randrange(2, 15))
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(major: bytes = b"isom", compatible: tuple[bytes, ...] = (b"isom", b"mp41")) -> bytes:
    ftyp = box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))
    return ftyp + box(b"moov", box(b"mvhd", b"\x00" * 100)) + box(b"mdat", b"\x00" * 64)


def heic_header(width: int, height: int) -> bytes:
    """The boxes of a HEIC up to the image size (ispe), as a bomb would declare it."""
    ispe = box(b"ispe", b"\x00\x00\x00\x00" + struct.pack(">II", width, height))
    meta = box(b"meta", b"\x00\x00\x00\x00" + box(b"iprp", box(b"ipco", ispe)))
    return box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + meta + box(b"mdat", b"\x00" * 32)


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    crc = struct.pack(">I", zlib.crc32(chunk))
    idat = b"IDAT" + zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + chunk
        + crc
        + struct.pack(">I", len(idat) - 4)
        + idat
        + struct.pack(">I", zlib.crc32(idat))
    )


def with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0) claims another size."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def with_xmp(jpeg: bytes, creator: str) -> bytes:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmp:CreatorTool="{creator}"/></rdf:RDF></x:xmpmeta>'
    ).encode()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


JPEG = encode(picture(1, (64, 48)))
PNG = encode(picture(1, (64, 48)), "PNG")


# --- real type ------------------------------------------------------------------------------------
def test_types_come_from_the_bytes() -> None:
    img = picture(2, (40, 30))
    assert sniff(encode(img)) == "image/jpeg"
    assert sniff(encode(img, "PNG")) == "image/png"
    assert sniff(encode(img, "WEBP", quality=70)) == "image/webp"
    assert sniff(encode(img, "WEBP", lossless=True)) == "image/webp"
    assert sniff(encode(img, "GIF")) == "image/gif"
    assert sniff(encode(img, "BMP")) == "image/bmp"
    assert sniff(encode(img, "TIFF")) == "image/tiff"
    assert sniff(b"%PDF-1.7\n...\n%%EOF\n") == "application/pdf"
    assert sniff(mp4()) == "video/mp4"
    assert sniff(mp4(b"mp42", (b"mp42", b"isom"))) == "video/mp4"
    assert sniff(mp4(b"qt  ", (b"qt  ",))) == "video/quicktime"
    assert sniff(box(b"moov") + box(b"mdat")) == "video/quicktime"  # pre-ftyp QuickTime
    assert sniff(mp4(b"3gp4", (b"3gp4",))) == "video/3gpp"
    assert sniff(mp4(b"M4A ", (b"M4A ", b"isom"))) == "audio/mp4"
    assert sniff(mp4(b"avif", (b"avif", b"mif1"))) == "image/avif"
    assert sniff(heic_header(10, 10)) == "image/heic"
    assert sniff(mp4(b"mif1", (b"mif1", b"heic"))) == "image/heic"
    assert sniff(b"hello world, not a picture") is None
    assert sniff(b"") is None


def test_heic_from_the_encoder_is_recognised_and_sized() -> None:
    pytest.importorskip("pillow_heif")
    data = encode(picture(3, (128, 96)), "HEIF")
    info = inspect(data, "image/heic")
    assert info.mime == "image/heic" and info.width >= 128 and info.height >= 96


@pytest.mark.parametrize(
    ("data", "declared", "code"),
    [
        (PNG, "image/jpeg", "media_type_mismatch"),
        (JPEG, "image/png", "media_type_mismatch"),
        (mp4(), "video/quicktime", "media_type_mismatch"),
        (JPEG, "video/mp4", "media_type_mismatch"),
        (b"", "image/jpeg", "media_empty"),
        (b"MZ\x90\x00 an executable", "image/jpeg", "media_type_unknown"),
        (encode(picture(1, (20, 20)), "GIF"), "image/gif", "media_type_not_allowed"),
        (mp4(b"avif", (b"avif",)), "image/avif", "media_type_not_allowed"),
    ],
)
def test_refusals_have_codes(data: bytes, declared: str, code: str) -> None:
    with pytest.raises(MediaError) as err:
        inspect(data, declared)
    assert err.value.code == code


def test_declared_aliases_and_parameters_are_understood() -> None:
    assert inspect(JPEG, "image/jpg").mime == "image/jpeg"
    assert inspect(JPEG, "Image/JPEG; q=1").mime == "image/jpeg"
    assert inspect(JPEG).width == 64 and inspect(JPEG).height == 48
    assert inspect(mp4(), "video/mp4").mime == "video/mp4"


def test_every_code_has_messages() -> None:
    codes = [
        "media_empty",
        "media_type_unknown",
        "media_type_not_allowed",
        "media_type_mismatch",
        "media_too_large",
        "media_total_too_large",
        "too_many_media",
        "media_too_many_pixels",
        "media_corrupt",
        "media_near_duplicate",
    ]
    for code in codes:
        assert FIELD_MESSAGES[code].vi and FIELD_MESSAGES[code].en


# --- limits ---------------------------------------------------------------------------------------
def test_size_limit_per_kind() -> None:
    small = Limits(max_image_bytes=len(JPEG) - 1, max_video_bytes=10)
    with pytest.raises(MediaError, match="media_too_large"):
        inspect(JPEG, limits=small)
    with pytest.raises(MediaError, match="media_too_large"):
        inspect(mp4(), limits=small)
    assert inspect(JPEG, limits=Limits(max_image_bytes=len(JPEG))).size == len(JPEG)


def test_batch_counts_files_and_bytes() -> None:
    items = [(JPEG, "image/jpeg"), (PNG, "image/jpeg"), (b"", None)]
    infos, problems = check_batch(items, limits=Limits(max_files=2, max_total_bytes=len(JPEG)))
    assert [(p.index, p.code) for p in problems] == [
        (None, "too_many_media"),
        (None, "media_total_too_large"),
        (1, "media_type_mismatch"),
        (2, "media_empty"),
    ]
    assert infos[0] is not None and infos[0].mime == "image/jpeg" and infos[1:] == [None, None]
    assert check_batch([(JPEG, None)]) == ([mc.MediaInfo("image/jpeg", len(JPEG), 64, 48)], [])


# --- decompression bombs: refused from the header, before any decoding ----------------------------
@pytest.mark.parametrize(
    "data",
    [
        png_header(100_000, 100_000),
        with_jpeg_size(JPEG, 60_000, 60_000),
        heic_header(100_000, 100_000),
    ],
    ids=["png", "jpeg", "heic"],
)
def test_decompression_bomb_is_refused_from_the_header(data: bytes) -> None:
    with pytest.raises(MediaError) as err:
        inspect(data)
    assert err.value.code == "media_too_many_pixels"
    if sniff(data) != "image/heic":
        with pytest.raises(MediaError, match="media_too_many_pixels"):
            perceptual_hash(data)


def test_webp_bomb_header() -> None:
    # VP8X canvas 16384 x 16384 = 268 M pixels
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x08\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    data = b"RIFF" + struct.pack("<I", len(vp8x) + 4) + b"WEBP" + vp8x
    assert image_size(data) == (16384, 16384)
    with pytest.raises(MediaError, match="media_too_many_pixels"):
        inspect(data)


def test_pixel_limit_is_a_parameter() -> None:
    with pytest.raises(MediaError, match="media_too_many_pixels"):
        inspect(JPEG, limits=Limits(max_pixels=64 * 48 - 1))
    assert inspect(JPEG, limits=Limits(max_pixels=64 * 48)).width == 64


# --- corrupt files --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        encode(picture(5))[:3000],  # truncated JPEG
        encode(picture(5), "PNG")[:2000],  # truncated PNG
        b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,  # JPEG magic, garbage after
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDX",  # no IHDR
        b"RIFF\x10\x00\x00\x00WEBPXXXX",  # no image chunk
        mp4()[:-10],  # box overruns the file
        box(b"ftyp", b"isom\x00\x00\x00\x00isom") + box(b"mdat", b"\x00" * 8),  # no moov
        b"%PDF-1.7\n1 0 obj\n",  # truncated PDF
        box(b"ftyp", b"heic\x00\x00\x00\x00mif1heic") + box(b"mdat"),  # HEIC without ispe
    ],
    ids=["jpeg", "png", "jpeg-garbage", "png-ihdr", "webp", "mp4", "mp4-moov", "pdf", "heic"],
)
def test_corrupt_files_are_refused(data: bytes) -> None:
    with pytest.raises(MediaError) as err:
        inspect(data)
    assert err.value.code == "media_corrupt"


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 400),
    st.integers(1, 400),
    st.sampled_from(["JPEG", "PNG", "WEBP", "WEBP-lossless"]),
)
def test_header_size_is_the_decoded_size(w: int, h: int, fmt: str) -> None:
    img = Image.new("RGB", (w, h), (w % 256, h % 256, 7))
    data = encode(img, "WEBP", lossless=True) if fmt == "WEBP-lossless" else encode(img, fmt)
    assert image_size(data) == (w, h) == Image.open(io.BytesIO(data)).size


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    for prefix in (b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"):
        try:
            inspect(prefix + data)
        except MediaError as exc:
            assert exc.code in FIELD_MESSAGES


# --- perceptual hash ------------------------------------------------------------------------------
def reencodings(img: Image.Image) -> dict[str, bytes]:
    w, h = img.size
    rotated = img.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: display rotated 90° clockwise
    return {
        "jpeg q40": encode(img, quality=40),
        "jpeg q95": encode(img, quality=95),
        "png": encode(img, "PNG"),
        "webp q60": encode(img, "WEBP", quality=60),
        "resize 50%": encode(img.resize((w // 2, h // 2)), quality=80),
        "resize 25%": encode(img.resize((w // 4, h // 4)), quality=80),
        "upscale 150%": encode(img.resize((w * 3 // 2, h * 3 // 2)), quality=80),
        "rotated + EXIF orientation": encode(rotated, exif=exif),
    }


def crops(img: Image.Image, r: random.Random) -> dict[str, bytes]:
    """Small crops (5 % of the area or less), then resized and re-encoded as a re-poster would."""
    w, h = img.size
    boxes = {
        "5% off the left": (w // 20, 0, w, h),
        "5% off the bottom": (0, 0, w, h - h // 20),
        "2.5% off top and left": (w // 40, h // 40, w, h),
        "1.25% all round": (w // 80, h // 80, w - w // 80, h - h // 80),
        "random <=2.5% each side": (
            r.randrange(w // 40),
            r.randrange(h // 40),
            w - r.randrange(w // 40),
            h - r.randrange(h // 40),
        ),
    }
    return {
        name: encode(img.crop(b).resize((w * 3 // 4, h * 3 // 4)), quality=70)
        for name, b in boxes.items()
    }


ROBUSTNESS_IMAGES = 30


def test_hash_survives_reencoding_resizing_and_rotation() -> None:
    worst: dict[str, int] = {}
    for seed in range(ROBUSTNESS_IMAGES):
        img = picture(seed)
        original = perceptual_hash(encode(img, quality=90))
        for name, data in reencodings(img).items():
            worst[name] = max(worst.get(name, 0), hamming(original, perceptual_hash(data)))
    print("\nworst distance to the original per re-encoding:", worst)
    assert max(worst.values()) <= 4


def test_small_crops_are_near_one_of_the_stored_hashes() -> None:
    r = random.Random(1)
    worst: dict[str, int] = {}
    plain: dict[str, int] = {}
    for seed in range(ROBUSTNESS_IMAGES):
        img = picture(seed)
        stored = perceptual_hashes(encode(img, quality=90))
        assert len(stored) == 6 and stored[0] == perceptual_hash(encode(img, quality=90))
        for name, data in crops(img, r).items():
            q = perceptual_hash(data)
            worst[name] = max(worst.get(name, 0), min(hamming(q, s) for s in stored))
            plain[name] = max(plain.get(name, 0), hamming(q, stored[0]))
    print("\nworst distance per crop, to the nearest stored variant:", worst)
    print("worst distance per crop, to the plain hash only:", plain)
    assert max(worst.values()) <= NEAR_DUPLICATE_DISTANCE


def test_different_pictures_are_far_from_every_stored_variant() -> None:
    stored = [perceptual_hashes(encode(picture(1000 + s))) for s in range(40)]
    queries = [perceptual_hash(encode(picture(1000 + s), quality=60)) for s in range(40)]
    distances = [
        min(hamming(q, v) for v in stored[j])
        for i, q in enumerate(queries)
        for j in range(len(stored))
        if i != j
    ]
    print(f"\ndifferent pictures: min {min(distances)}, mean {mean(distances):.1f} (of 64 bits)")
    assert min(distances) > NEAR_DUPLICATE_DISTANCE


def test_dhash_is_available() -> None:
    img = picture(7)
    a = perceptual_hash(encode(img), algorithm="dhash")
    b = perceptual_hash(encode(img.resize((320, 240)), quality=60), algorithm="dhash")
    assert hamming(a, b) <= NEAR_DUPLICATE_DISTANCE and a != perceptual_hash(encode(img))


def test_hash_of_heic_matches_its_jpeg() -> None:
    pytest.importorskip("pillow_heif")
    img = picture(8)
    assert hamming(perceptual_hash(encode(img, "HEIF")), perceptual_hash(encode(img))) <= 4


def test_hashing_refuses_non_images() -> None:
    with pytest.raises(MediaError, match="media_type_not_allowed"):
        perceptual_hash(mp4())


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_hamming_is_a_metric(a: int, b: int, c: int) -> None:
    assert hamming(a, a) == 0 and hamming(a, b) == hamming(b, a)
    assert hamming(a, c) <= hamming(a, b) + hamming(b, c)
    assert hamming(a, b) == bin(a ^ b).count("1")


# --- near-duplicate index -------------------------------------------------------------------------
def flip(h: int, bits: list[int]) -> int:
    for b in bits:
        h ^= 1 << b
    return h


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40),
    st.integers(0, 2**64 - 1),
    st.integers(0, 12),
    st.sampled_from([None, 4, 6]),
)
def test_index_finds_exactly_what_a_full_scan_finds(
    stored: list[int], probe: int, d: int, bands: int | None
) -> None:
    index = NearDupIndex(max_distance=12, bands=bands)
    for i, h in enumerate(stored):
        index.add(h, f"r{i}")
    # near copies of the first stored hash, so there is something to find
    near = flip(stored[0], list(range(0, 64, 64 // max(d, 1)))[:d])
    for q in (probe, near):
        want = sorted(
            ((f"r{i}", hamming(q, h)) for i, h in enumerate(stored) if hamming(q, h) <= d),
            key=lambda rd: (rd[1], rd[0]),
        )
        assert index.query(q, d) == want


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 63), max_size=12, unique=True))
def test_any_hash_within_the_distance_is_found(h: int, bits: list[int]) -> None:
    index = NearDupIndex(max_distance=12)
    index.add(h, "case-1/photo-1")
    assert index.query(flip(h, bits)) == [("case-1/photo-1", len(bits))]


def test_a_query_reads_max_distance_plus_one_buckets() -> None:
    index = NearDupIndex(max_distance=12)
    assert index.bands == 13 and len(index.probe_keys(0)) == 13
    assert len(set(index.add_keys(2**64 - 1))) == 13
    assert NearDupIndex().bands == NEAR_DUPLICATE_DISTANCE + 1
    wide = NearDupIndex(max_distance=11, bands=4)  # 16-bit bands, radius 2: 4 x (1+16+120)
    assert len(wide.probe_keys(0)) == 4 * (1 + 16 + 120)
    with pytest.raises(ValueError, match="up to 12"):
        index.query(0, 13)


def test_index_is_sublinear_on_a_big_collection() -> None:
    r = random.Random(5)
    index = NearDupIndex(max_distance=10)
    for i in range(10_000):
        index.add(r.getrandbits(64), f"r{i}")
    target = r.getrandbits(64)
    index.add(target, "target")
    read = sum(len(index.buckets.get(k, ())) for k in index.probe_keys(target))
    assert index.query(flip(target, [1, 9, 30, 63]), 10) == [("target", 4)]
    assert read < 10_000 / 4  # a query reads a fraction of the entries


def test_index_round_trips_through_json_and_forgets() -> None:
    index = NearDupIndex(max_distance=8)
    index.add(0x0123456789ABCDEF, "a")
    index.add(0x0123456789ABCDEE, "b")
    index.add(0x0123456789ABCDEF, "a")  # idempotent
    again = NearDupIndex.from_dict(json.loads(json.dumps(index.to_dict())))
    assert again == index and len(again) == 2
    assert again.query(0x0123456789ABCDEF, 3) == [("a", 0), ("b", 1)]
    again.remove("a")
    assert again.query(0x0123456789ABCDEF, 3) == [("b", 1)] and len(again) == 1
    with pytest.raises(ValueError):
        NearDupIndex.from_dict({"format": 2})


def test_buckets_can_live_in_a_key_value_table() -> None:
    table: dict[str, list[list[str]]] = {}  # e.g. a faust table
    index = NearDupIndex(max_distance=12)
    h = perceptual_hash(encode(picture(11)))
    for key in index.add_keys(h):
        table.setdefault(key, []).append([f"{h:016x}", "case-9/img-1"])
    q = perceptual_hash(encode(picture(11).resize((300, 225)), quality=50))
    found = NearDupIndex.match(q, (e for k in index.probe_keys(q) for e in table.get(k, [])), 12)
    assert [ref for ref, _ in found] == ["case-9/img-1"]


def test_photos_found_again_after_reencoding_through_the_index() -> None:
    index = NearDupIndex()
    for seed in range(30):
        index.add(perceptual_hashes(encode(picture(seed))), f"case-{seed}")
    for seed in range(0, 30, 3):
        copy = crops(picture(seed), random.Random(seed))["5% off the left"]
        assert [ref for ref, _ in index.query(perceptual_hash(copy))] == [f"case-{seed}"]
    assert index.query(perceptual_hash(encode(picture(999)))) == []


# --- signs of editing -----------------------------------------------------------------------------
HANOI = (21.0245, 105.8532)  # 12 Hàng Bài
REPORTED = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)  # 09:00 in Hanoi


def camera_photo(
    *,
    make: str | None = "samsung",
    model: str | None = "SM-S918B",
    software: str | None = "S918BXXU3BWK5",
    taken: str | None = "2026:02:13 08:45:10",
    modified: str | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = (21.0249, 105.8530),
    fmt: str = "JPEG",
) -> bytes:
    exif = camera_exif(
        make=make,
        model=model,
        software=software,
        taken=taken,
        modified=modified,
        offset=offset,
        gps=gps,
    )
    exif.setdefault(0x0132, "2026:02:13 08:45:10")  # a file time even without a capture time
    return encode(picture(21, (96, 64)), fmt, exif=exif)


def codes(signals: list[Signal]) -> list[str]:
    return [s.code for s in signals]


def test_a_plain_phone_photo_raises_no_signal() -> None:
    data = camera_photo()
    assert edit_signals(data, reported_at=REPORTED, reported_place=HANOI) == []


@pytest.mark.parametrize(
    "software", ["Adobe Photoshop 25.0 (Windows)", "Snapseed", "PicsArt", "GIMP 2.10.34", "Meitu"]
)
def test_editing_software_tag(software: str) -> None:
    signals = edit_signals(camera_photo(software=software))
    assert signals == [Signal("exif_editing_software", software)]


def test_editor_named_in_xmp() -> None:
    data = with_xmp(camera_photo(), "Adobe Photoshop Lightroom Classic 13.0")
    assert codes(edit_signals(data)) == ["exif_editing_software"]


def test_missing_camera_and_missing_exif() -> None:
    assert codes(edit_signals(camera_photo(make=None))) == ["exif_camera_missing"]
    assert codes(edit_signals(camera_photo(model=None))) == ["exif_camera_missing"]
    assert codes(edit_signals(encode(picture(3), "PNG"))) == ["exif_missing"]  # a screenshot
    assert codes(edit_signals(JPEG, reported_at=REPORTED, reported_place=HANOI)) == ["exif_missing"]


def test_modified_after_capture() -> None:
    data = camera_photo(modified="2026:02:13 21:10:00")
    assert codes(edit_signals(data)) == ["exif_modified_after_capture"]
    assert edit_signals(camera_photo(modified="2026:02:13 08:46:00")) == []  # within 5 minutes


def test_capture_time_far_from_the_reported_time() -> None:
    old = camera_photo(taken="2025:06:01 10:00:00")
    (signal,) = edit_signals(old, reported_at=REPORTED)
    assert signal.code == "exif_capture_time_far" and "before" in signal.detail
    later = camera_photo(taken="2026:02:20 10:00:00")
    assert "after" in edit_signals(later, reported_at=REPORTED)[0].detail
    assert edit_signals(old, reported_at=REPORTED, max_time_gap=timedelta(days=365)) == []
    assert codes(edit_signals(camera_photo(taken=None), reported_at=REPORTED)) == [
        "exif_capture_time_missing"
    ]


def test_capture_time_zone() -> None:
    # 09:00 in Tokyo is 07:00 in Hanoi: 2 h before the 09:00 report.
    tokyo = camera_photo(taken="2026:02:13 09:00:00", offset="+09:00")
    assert edit_signals(tokyo, reported_at=REPORTED, max_time_gap=timedelta(hours=2)) == []
    assert codes(
        edit_signals(tokyo, reported_at=REPORTED, max_time_gap=timedelta(hours=1, minutes=59))
    ) == ["exif_capture_time_far"]
    naive = datetime(2026, 2, 13, 9, 0)  # read as Hanoi time
    assert edit_signals(camera_photo(), reported_at=naive, max_time_gap=timedelta(minutes=15)) == []
    hour = timedelta(hours=1)
    assert edit_signals(camera_photo(), reported_at=REPORTED, max_time_gap=hour) == []
    new_york = timezone(timedelta(hours=-5))  # a camera clock without offset, read in another zone
    far = edit_signals(camera_photo(), reported_at=REPORTED, camera_tz=new_york, max_time_gap=hour)
    assert codes(far) == ["exif_capture_time_far"]


def test_gps_far_from_the_reported_place() -> None:
    ho_tay = camera_photo(gps=(21.0580, 105.8190))  # West Lake, ~5 km away
    (signal,) = edit_signals(ho_tay, reported_place=HANOI)
    assert signal.code == "exif_gps_far" and "m from the reported place" in signal.detail
    assert edit_signals(ho_tay, reported_place=HANOI, max_distance_m=6000) == []
    south = camera_photo(gps=(-33.8688, 151.2093))  # Sydney: S and E references
    detail = edit_signals(south, reported_place=HANOI)[0].detail
    # the S and E references read right: Sydney is ~7,766 km away (north-east of it: ~4,700 km)
    assert 7_700_000 < float(detail.split()[1]) < 7_800_000
    assert "33.8" not in detail  # the distance only, never the photo's position
    assert edit_signals(camera_photo(gps=None), reported_place=HANOI) == []


def test_signals_from_webp_and_heic_exif() -> None:
    assert codes(edit_signals(camera_photo(software="Snapseed", fmt="WEBP"))) == [
        "exif_editing_software"
    ]
    pytest.importorskip("pillow_heif")
    assert codes(edit_signals(camera_photo(software="Snapseed", fmt="HEIF"))) == [
        "exif_editing_software"
    ]


def test_signals_need_an_image() -> None:
    with pytest.raises(MediaError, match="media_type_not_allowed"):
        edit_signals(mp4())


def test_haversine() -> None:
    assert haversine_m((0, 0), (1, 0)) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(HANOI, HANOI) == 0
    assert haversine_m((21.0285, 105.8542), (10.7769, 106.7009)) == pytest.approx(1.14e6, rel=0.01)
