"""The media stores' pure parts: the local folder store, keys and headers of the S3 store, the
choice by settings, the 503 of an unreachable store, and the native S3 service's command line."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

import pytest

from gateway.http.errors import ApiError
from gateway.stores.media import (
    LocalMediaStore,
    MediaUnavailable,
    check_digest,
    open_store,
    put_files,
    stored_size,
)
from gateway.stores.media_s3 import S3MediaStore, client_config, content_md5, object_key
from pakn.services.s3 import S3Store, cargo_install_command, parse_endpoint
from pakn.settings import Settings

DATA = b"\xff\xd8\xff\xe0 a photo of a pothole"
DIGEST = hashlib.sha256(DATA).hexdigest()


def test_local_store_keeps_one_copy_under_the_digest(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    assert store.size_of(DIGEST) is None
    assert store.put(DATA, "image/jpeg") == DIGEST
    path = tmp_path / "media" / DIGEST[:2] / DIGEST
    first = path.stat().st_mtime_ns
    assert store.put(DATA) == DIGEST  # the same bytes again: nothing rewritten
    assert path.stat().st_mtime_ns == first
    assert store.size_of(DIGEST) == len(DATA)
    assert store.get(DIGEST) == DATA
    assert [p.name for p in path.parent.iterdir()] == [DIGEST]  # no temporary file left


def test_local_store_get_of_an_unknown_digest_is_a_key_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        LocalMediaStore(tmp_path).get("0" * 64)


@pytest.mark.parametrize("bad", ["", "../" + "0" * 61, "A" * 64, "0" * 63, "0" * 65])
def test_only_a_lowercase_sha256_names_a_file(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        check_digest(bad)
    with pytest.raises(ValueError):
        LocalMediaStore(tmp_path).size_of(bad)
    with pytest.raises(ValueError):
        object_key("media/", bad)


def test_s3_key_is_the_prefix_and_the_digest() -> None:
    assert object_key("media/", DIGEST) == f"media/{DIGEST}"
    assert object_key("", DIGEST) == DIGEST


def test_content_md5_is_base64_of_the_binary_md5() -> None:
    # RFC 1864's form; hex would be refused by every S3 server.
    assert content_md5(b"") == "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert base64.b64decode(content_md5(DATA)) == hashlib.md5(DATA).digest()


def test_client_config_follows_the_settings() -> None:
    path = client_config(Settings(media_s3_region="eu-west-3", media_s3_timeout_s=3.0))
    assert path.region_name == "eu-west-3"
    assert path.connect_timeout == 3.0 and path.read_timeout == 3.0
    assert path.s3 == {"addressing_style": "path"}
    assert path.request_checksum_calculation == "when_required"
    virtual = client_config(Settings(media_s3_path_style=False))
    assert virtual.s3 == {"addressing_style": "virtual"}


def test_the_setting_chooses_the_store(tmp_path: Path) -> None:
    local = open_store(Settings(home=tmp_path))
    assert isinstance(local, LocalMediaStore) and local.root == tmp_path / "media"
    s3 = open_store(
        Settings(
            home=tmp_path,
            media_store="s3",
            media_s3_endpoint="http://127.0.0.1:1",
            media_s3_bucket="evidence",
            media_s3_prefix="city/",
        )
    )
    assert isinstance(s3, S3MediaStore)  # made without a connection
    assert (s3.bucket, s3.prefix) == ("evidence", "city/")
    assert s3.where() == "http://127.0.0.1:1/evidence/city/"


class _Down:
    """A store whose server cannot be reached."""

    def put(self, data: bytes, content_type: str | None = None) -> str:
        raise MediaUnavailable("connection refused")

    def size_of(self, sha256: str) -> int | None:
        raise MediaUnavailable("connection refused")


def test_an_unreachable_store_is_a_503_with_retry_after() -> None:
    for call in (put_files(_Down(), [("image/jpeg", "a.jpg", DATA)]), stored_size(_Down(), DIGEST)):  # type: ignore[arg-type]
        with pytest.raises(ApiError) as caught:
            asyncio.run(call)
        assert caught.value.code == "media_store_unavailable"
        assert caught.value.headers["Retry-After"]


def test_put_files_answers_references_in_order(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    refs = asyncio.run(
        put_files(store, [("image/jpeg", "a.jpg", DATA), ("application/pdf", None, b"%PDF")])
    )
    assert [r["sha256"] for r in refs] == [DIGEST, hashlib.sha256(b"%PDF").hexdigest()]
    assert refs[0] == {
        "sha256": DIGEST,
        "content_type": "image/jpeg",
        "size": len(DATA),
        "filename": "a.jpg",
    }
    assert asyncio.run(stored_size(store, DIGEST)) == len(DATA)


# --- the native S3 service (s3s-fs) ---------------------------------------------------------
def test_parse_endpoint() -> None:
    assert parse_endpoint("http://127.0.0.1:18333") == ("127.0.0.1", 18333)
    assert parse_endpoint("https://s3.example.org") == ("s3.example.org", 443)
    with pytest.raises(ValueError):
        parse_endpoint("127.0.0.1:18333")


def test_build_is_pinned_and_locked(tmp_path: Path) -> None:
    cmd = cargo_install_command("cargo", "0.14.1", tmp_path)
    assert cmd[:3] == ["cargo", "install", "s3s-fs"]
    assert cmd[cmd.index("--version") + 1] == "0.14.1" and "--locked" in cmd
    assert cmd[cmd.index("--root") + 1] == str(tmp_path)


def test_server_command_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home",
        tools_cache=tmp_path / "tools",
        media_s3_endpoint="http://127.0.0.1:28000",
        media_s3_access_key="AK",
        media_s3_secret_key="SK",
    )
    svc = S3Store(settings)
    cmd = svc.command()
    assert cmd[0] == str(tmp_path / "tools" / "s3s-fs" / settings.s3s_fs_version / "bin" / "s3s-fs")
    assert cmd[cmd.index("--port") + 1] == "28000" and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--access-key") + 1] == "AK" and cmd[cmd.index("--secret-key") + 1] == "SK"
    assert cmd[-1] == str(tmp_path / "home" / "s3" / "data")
    assert svc.marker in " ".join(cmd)
    other = S3Store(settings.model_copy(update={"home": tmp_path / "home2"}))
    assert other.marker not in " ".join(cmd)  # another home's server is not ours
    assert svc.endpoint == ("127.0.0.1", 28000)


def test_tools_cache_defaults_outside_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Settings(home=tmp_path / "home").tools_dir == tmp_path / "xdg" / "pakn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert Settings().tools_dir == Path.home() / ".cache" / "pakn"
