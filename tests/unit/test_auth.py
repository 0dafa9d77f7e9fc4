"""Who may do what: signed tokens (gateway/http/auth.py), the rule table, `require`, `pakn token`.

The expected matrix below is written out by hand from domain.md §1 and the issue, independently of
the module's RULES, so a change to the rules has to change both.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.http.auth import (
    ACTIONS,
    RULES,
    CaseView,
    Principal,
    TokenVerifier,
    authorize,
    install_auth,
    load_public_keys,
    mint_token,
    principal_of,
    require,
)
from gateway.http.errors import ERRORS, ApiError
from pakn.privacy import Privacy
from pakn.settings import Settings
from pakn.token_cli import token as token_cmd

SECRET = "s" * 40
ISS, AUD = "https://sso.hanoi.example/realms/pakn", "pakn-gateway"
UNIT, OTHER_UNIT = "00070", "00004"  # Phường Hoàn Kiếm, Phường Ba Đình
ME = "a" * 64  # a sender pseudonym (hex HMAC-SHA256)
SOMEONE_ELSE = "b" * 64

R, H, HEAD, OV, OP, S, RO, C = (
    "receiving_officer",
    "handling_officer",
    "head",
    "oversight",
    "operator",
    "sender",
    "reception_office",
    "communications_officer",
)
ALL_ROLES = (R, H, HEAD, OV, OP, S, RO, C)

# action -> roles allowed (on the right case), written from domain.md §1 and the issue.
EXPECTED: dict[str, set[str]] = {
    "receive": {R, HEAD},
    "reject": {R, HEAD},
    "assign": {R, HEAD},
    "forward": {R, HEAD},
    "propose_transfer": {R, HEAD},
    "approve_transfer": {HEAD},
    "decline_transfer": {HEAD},
    "request_info": {H, HEAD},
    "resume": {H, HEAD},
    "provide_info": {S},
    "classify": {R, H, HEAD},
    "extend": {H, HEAD},
    "request_extension": {H, HEAD},
    "approve_extension": {HEAD},
    "propose_result": {H, HEAD},
    "approve_result": {HEAD},
    "return_result": {HEAD},
    "publish": {HEAD},
    "rate": {S},
    "reopen": {S},
    "withdraw": {S},
    "track": {S},
    "oversight_read": {OV, OP},
    "reidentify": {OP},
    "upload_media": {R, H, HEAD},
    # warnings to citizens (issue 8): the communications officer drafts, the head approves
    "warning_draft": {C, HEAD},
    "warning_edit": {C, HEAD},
    "warning_approve": {HEAD},
    "warning_update": {HEAD},
    "warning_cancel": {HEAD},
    "warning_supersede": {HEAD},
    "warning_subscribe": {S},
    "read_case": {R, H, HEAD},
    "reception_publish": {RO},
    "reception_list": {RO},
    "reception_attend": {RO},
    "read_integrity": {R, H, HEAD},  # integrity flags of a case (docs/integrity.md §4)
}
OFFICER_ACTIONS = [
    a
    for a, roles in EXPECTED.items()
    if roles & {R, H, HEAD} and a != "upload_media" and not a.startswith("warning_")
]  # upload_media is not about a case
SENDER_ACTIONS = ["rate", "reopen", "withdraw", "track"]


def settings_for(tmp_path: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path,
        "auth_issuer": ISS,
        "auth_audience": AUD,
        "auth_hs256_secret": SECRET,
        "auth_public_keys_file": "",
        "auth_leeway_s": 30.0,
    }
    values.update(over)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path)


@pytest.fixture
def verifier(settings: Settings) -> TokenVerifier:
    return TokenVerifier(settings)


def principal(role: str, unit: str | None = UNIT, pseudonym: str | None = None) -> Principal:
    if role == S:
        return Principal(pseudonym or ME, S, None, pseudonym or ME)
    if role in (OV, OP, RO):
        return Principal(f"{role}-1", role, None, None)
    return Principal(f"{role}-1", role, unit, None)


def own_case() -> CaseView:
    """A case of the officers' unit (also the target of its transfer), sent by ME."""
    return CaseView(UNIT, sender_pseudonym=ME, case_id="c-1", transfer_target=UNIT)


def claims(**over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    out: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "officer-42",
        "role": HEAD,
        "unit": UNIT,
        "iat": now,
        "exp": now + timedelta(minutes=10),
    }
    out.update(over)
    return {k: v for k, v in out.items() if v is not None}


def sign(
    body: dict[str, Any], key: Any = SECRET, alg: str = "HS256", kid: str | None = None
) -> str:
    return "Bearer " + jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else None)


def code_of(fn: Callable[[], object]) -> str:
    with pytest.raises(ApiError) as info:
        fn()
    return info.value.code


# --- the rule table ---------------------------------------------------------------------------
def test_the_rule_table_has_exactly_the_actions_of_the_issue() -> None:
    assert set(RULES) == set(EXPECTED) == set(ACTIONS)
    assert {role for rule in RULES.values() for role in rule.roles} == set(ALL_ROLES)


def test_every_workflow_command_has_a_rule() -> None:
    """The command route authorizes `body.command`: no command of the case machine is unknown."""
    from processors.workflow import COMMANDS, SENDER_COMMANDS

    assert set(COMMANDS) <= set(RULES)
    assert {a for a in SENDER_COMMANDS if RULES[a].roles == {S}} == set(SENDER_COMMANDS)


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_and_action(role: str, action: str) -> None:
    """On its own unit's case / its own feedback: allowed exactly where the matrix says."""
    who = principal(role)
    if role in EXPECTED[action]:
        authorize(who, action, own_case())
    else:
        assert code_of(lambda: authorize(who, action, own_case())) == "role_not_allowed"


def test_only_a_head_approves_results() -> None:
    authorize(principal(HEAD), "approve_result", own_case())
    for role in set(ALL_ROLES) - {HEAD}:
        refused = code_of(lambda r=role: authorize(principal(r), "approve_result", own_case()))
        assert refused == "role_not_allowed"


@pytest.mark.parametrize(
    "action",
    ["approve_transfer", "decline_transfer", "approve_extension", "return_result", "publish"],
)
def test_only_a_head_approves_transfers_and_extensions_and_publishes(action: str) -> None:
    assert {role for role in ALL_ROLES if role in RULES[action].roles} == {HEAD}


def test_a_head_can_do_everything_the_officers_of_their_unit_can() -> None:
    for action, rule in RULES.items():
        if rule.roles & {R, H}:
            assert HEAD in rule.roles, action


def test_receiving_officers_receive_reject_assign_forward_and_propose_transfers() -> None:
    mine = {a for a, rule in RULES.items() if R in rule.roles}
    assert mine == {
        "receive",
        "reject",
        "assign",
        "forward",
        "propose_transfer",
        "classify",
        "upload_media",
        "read_case",
        "read_integrity",
    }


def test_handling_officers_propose_results_request_info_and_resume() -> None:
    mine = {a for a, rule in RULES.items() if H in rule.roles}
    assert mine == {
        "propose_result",
        "request_info",
        "resume",
        "classify",
        "extend",
        "request_extension",
        "upload_media",
        "read_case",
        "read_integrity",
    }


@pytest.mark.parametrize(
    ("role", "action"),
    [
        (role, action)
        for action in OFFICER_ACTIONS
        for role in (R, H, HEAD)
        if role in EXPECTED[action]
    ],
)
def test_an_officer_of_another_unit_is_refused(role: str, action: str) -> None:
    elsewhere = CaseView(responsible_unit=OTHER_UNIT, sender_pseudonym=ME)
    assert code_of(lambda: authorize(principal(role), action, elsewhere)) == "not_your_unit"
    authorize(principal(role), action, own_case())


def test_the_role_is_checked_before_the_unit() -> None:
    elsewhere = CaseView(responsible_unit=OTHER_UNIT)
    assert code_of(lambda: authorize(principal(H), "approve_result", elsewhere)) == (
        "role_not_allowed"
    )
    assert code_of(lambda: authorize(principal(HEAD), "approve_result", elsewhere)) == (
        "not_your_unit"
    )


@pytest.mark.parametrize("unit", [None, ""])
def test_a_case_without_a_responsible_unit_is_nobodys(unit: str | None) -> None:
    case = CaseView(responsible_unit=unit)
    assert code_of(lambda: authorize(principal(HEAD), "receive", case)) == "not_your_unit"
    assert code_of(lambda: authorize(principal(HEAD, unit=""), "receive", case)) == (
        "not_your_unit"
    )


def test_unit_codes_match_exactly() -> None:
    assert code_of(lambda: authorize(principal(HEAD), "publish", CaseView("70"))) == (
        "not_your_unit"
    )


@pytest.mark.parametrize("action", SENDER_ACTIONS)
def test_a_sender_acts_only_on_their_own_feedback(action: str) -> None:
    authorize(principal(S, pseudonym=ME), action, own_case())
    theirs = CaseView(responsible_unit=UNIT, sender_pseudonym=SOMEONE_ELSE)
    assert code_of(lambda: authorize(principal(S, pseudonym=ME), action, theirs)) == (
        "not_your_case"
    )
    anonymous = CaseView(responsible_unit=UNIT, sender_pseudonym=None)
    assert code_of(lambda: authorize(principal(S, pseudonym=ME), action, anonymous)) == (
        "not_your_case"
    )


def test_a_sender_without_a_pseudonym_owns_nothing() -> None:
    nobody = Principal("x", S, None, None)
    assert code_of(lambda: authorize(nobody, "track", CaseView(UNIT, None))) == "not_your_case"
    assert code_of(lambda: authorize(nobody, "track", CaseView(UNIT, ""))) == "not_your_case"


def test_a_sender_cannot_act_for_the_unit_even_on_their_own_feedback() -> None:
    for action in [*OFFICER_ACTIONS, "oversight_read", "reidentify"]:
        assert code_of(lambda a=action: authorize(principal(S), a, own_case())) == (
            "role_not_allowed"
        )


@pytest.mark.parametrize("role", [OV, OP])
def test_oversight_reads_every_unit(role: str) -> None:
    authorize(principal(role), "oversight_read")
    authorize(principal(role), "oversight_read", CaseView(OTHER_UNIT, SOMEONE_ELSE))
    authorize(Principal("o", role, "01", None), "oversight_read", CaseView(OTHER_UNIT))


@pytest.mark.parametrize("role", [R, H, HEAD, S])
def test_units_and_senders_do_not_read_oversight_figures(role: str) -> None:
    assert code_of(lambda: authorize(principal(role), "oversight_read")) == "role_not_allowed"


def test_only_the_operator_reidentifies() -> None:
    authorize(principal(OP), "reidentify", own_case())
    for role in set(ALL_ROLES) - {OP}:
        assert code_of(lambda r=role: authorize(principal(r), "reidentify")) == ("role_not_allowed")


def test_oversight_and_the_operator_do_not_command_cases() -> None:
    for role in (OV, OP):
        for action in OFFICER_ACTIONS + SENDER_ACTIONS:
            assert code_of(lambda r=role, a=action: authorize(principal(r), a, own_case())) == (
                "role_not_allowed"
            )


def test_an_unknown_action_is_a_bug_not_an_allow() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        authorize(principal(HEAD), "approve_everything", own_case())


@pytest.mark.parametrize(
    ("role", "action"), [(R, "receive"), (HEAD, "approve_result"), (S, "rate")]
)
def test_without_the_case_only_the_role_is_checked(role: str, action: str) -> None:
    """The gateway's command route: the worker binds the actor to the case state."""
    authorize(principal(role, unit=OTHER_UNIT), action)
    assert code_of(lambda: authorize(principal(H), "approve_result")) == "role_not_allowed"


def test_a_transfer_is_decided_by_the_head_of_the_unit_it_goes_to() -> None:
    proposed = CaseView(responsible_unit=OTHER_UNIT, transfer_target=UNIT)
    nothing_proposed = CaseView(responsible_unit=UNIT)
    for action in ("approve_transfer", "decline_transfer"):
        authorize(principal(HEAD, unit=UNIT), action, proposed)
        assert code_of(
            lambda a=action: authorize(principal(HEAD, unit=OTHER_UNIT), a, proposed)
        ) == ("not_your_unit")
        assert code_of(lambda a=action: authorize(principal(HEAD), a, nothing_proposed)) == (
            "not_your_unit"
        )
    # proposing it is the sending unit's business
    authorize(principal(R, unit=OTHER_UNIT), "propose_transfer", proposed)
    assert code_of(lambda: authorize(principal(R), "propose_transfer", proposed)) == "not_your_unit"


def test_every_code_is_a_known_error_with_both_languages() -> None:
    codes = {
        "token_missing",
        "token_malformed",
        "token_invalid",
        "token_expired",
        "token_not_yet_valid",
        "token_wrong_issuer",
        "token_wrong_audience",
        "token_claims_invalid",
    }
    for code in codes:
        assert ERRORS[code][0] == 401
    for code in ("role_not_allowed", "not_your_unit", "not_your_case"):
        assert ERRORS[code][0] == 403
    for code in codes | {"role_not_allowed", "not_your_unit", "not_your_case"}:
        assert ERRORS[code][1].vi and ERRORS[code][1].en


def test_a_refusal_is_logged_with_who_what_and_the_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.http.auth")
    who = Principal("officer-7", H, UNIT, None)
    with pytest.raises(ApiError):
        authorize(who, "approve_result", CaseView(UNIT, ME, case_id="case-9"))
    (record,) = [r for r in caplog.records if r.getMessage() == "auth: refused"]
    assert (record.subject, record.role, record.unit) == ("officer-7", H, UNIT)
    assert (record.action, record.code, record.case_id) == (
        "approve_result",
        "role_not_allowed",
        "case-9",
    )
    assert ME not in json.dumps(record.__dict__, default=str)  # no pseudonyms in the log


def test_an_allowed_action_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.http.auth")
    authorize(principal(HEAD), "publish", own_case())
    assert not caplog.records


# --- tokens: HS256 ----------------------------------------------------------------------------
def test_a_valid_agency_token_gives_the_principal(verifier: TokenVerifier) -> None:
    assert verifier.verify(sign(claims())) == Principal("officer-42", HEAD, UNIT, None)


@pytest.mark.parametrize("role", [R, H, HEAD])
def test_officer_tokens_carry_their_unit(verifier: TokenVerifier, role: str) -> None:
    assert verifier.verify(sign(claims(role=role, unit=OTHER_UNIT))).unit == OTHER_UNIT


@pytest.mark.parametrize("role", [OV, OP])
def test_oversight_and_operator_tokens_need_no_unit(verifier: TokenVerifier, role: str) -> None:
    assert verifier.verify(sign(claims(role=role, unit=None))) == Principal(
        "officer-42", role, None, None
    )


def test_a_sender_token_is_bound_to_the_pseudonym_of_their_identity_number(
    verifier: TokenVerifier,
) -> None:
    privacy = Privacy({"k": b"k" * 32}, "k", b"p" * 32)
    mine = privacy.pseudonym("001 090 001234")
    by_sub = verifier.verify(sign(claims(role=S, unit=None, sub=mine)))
    assert by_sub == Principal(mine, S, None, mine)
    by_claim = verifier.verify(sign(claims(role=S, unit=None, sub="app-user-1", pseudonym=mine)))
    assert by_claim == Principal("app-user-1", S, None, mine)
    authorize(by_claim, "rate", CaseView(UNIT, privacy.pseudonym("001090001234")))


def test_a_sender_token_never_carries_a_unit(verifier: TokenVerifier) -> None:
    assert verifier.verify(sign(claims(role=S, sub=ME, unit=UNIT))).unit is None


def test_an_agency_token_never_carries_a_pseudonym(verifier: TokenVerifier) -> None:
    assert verifier.verify(sign(claims(pseudonym=ME))).pseudonym is None


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_header_is_token_missing(verifier: TokenVerifier, header: str | None) -> None:
    with pytest.raises(ApiError) as info:
        verifier.verify(header)
    assert info.value.code == "token_missing"
    assert info.value.status == 401
    assert info.value.headers["WWW-Authenticate"] == 'Bearer realm="pakn"'


@pytest.mark.parametrize(
    "header",
    [
        "TOKEN",  # the token without `Bearer`
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer a.b.c d.e.f",
        "Token abc.def.ghi",
    ],
)
def test_a_malformed_header_is_refused(verifier: TokenVerifier, header: str) -> None:
    header = header.replace("TOKEN", sign(claims()).removeprefix("Bearer "))
    with pytest.raises(ApiError) as info:
        verifier.verify(header)
    assert info.value.code == "token_malformed"
    assert 'error="invalid_request"' in info.value.headers["WWW-Authenticate"]


def test_the_bearer_scheme_is_case_insensitive(verifier: TokenVerifier) -> None:
    assert verifier.verify("bearer " + sign(claims()).split()[1]).role == HEAD


@pytest.mark.parametrize("junk", ["abc", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30"])
def test_a_token_that_is_not_a_jwt_is_malformed(verifier: TokenVerifier, junk: str) -> None:
    assert code_of(lambda: verifier.verify(f"Bearer {junk}")) == "token_malformed"


def test_an_expired_token_is_refused(verifier: TokenVerifier) -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = sign(claims(iat=past, exp=past + timedelta(hours=1)))
    assert code_of(lambda: verifier.verify(expired)) == "token_expired"


def test_a_token_just_expired_is_still_accepted_within_the_leeway(verifier: TokenVerifier) -> None:
    now = datetime.now(UTC)
    assert verifier.verify(
        sign(claims(iat=now - timedelta(hours=1), exp=now - timedelta(seconds=5)))
    )


def test_a_token_from_the_future_is_not_yet_valid(verifier: TokenVerifier) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    assert code_of(lambda: verifier.verify(sign(claims(nbf=later)))) == "token_not_yet_valid"
    issued_later = claims(iat=later, exp=later + timedelta(hours=1))
    assert code_of(lambda: verifier.verify(sign(issued_later))) == "token_not_yet_valid"


def test_a_token_for_another_audience_is_refused(verifier: TokenVerifier) -> None:
    assert code_of(lambda: verifier.verify(sign(claims(aud="another-app")))) == (
        "token_wrong_audience"
    )
    assert code_of(lambda: verifier.verify(sign(claims(aud=None)))) == "token_wrong_audience"
    assert verifier.verify(sign(claims(aud=["another-app", AUD]))).role == HEAD


def test_a_token_from_another_issuer_is_refused(verifier: TokenVerifier) -> None:
    assert code_of(lambda: verifier.verify(sign(claims(iss="https://evil.example")))) == (
        "token_wrong_issuer"
    )
    assert code_of(lambda: verifier.verify(sign(claims(iss=None)))) == "token_wrong_issuer"


def test_several_issuers_and_audiences_may_be_accepted(tmp_path: Path) -> None:
    both = TokenVerifier(
        settings_for(tmp_path, auth_issuer=f"{ISS}, https://app.example", auth_audience="x,y")
    )
    assert both.verify(sign(claims(iss="https://app.example", aud="y"))).role == HEAD
    assert code_of(lambda: both.verify(sign(claims(aud=AUD)))) == "token_wrong_audience"


@pytest.mark.parametrize("missing", ["exp", "iat", "sub"])
def test_a_token_without_exp_iat_or_sub_is_refused(verifier: TokenVerifier, missing: str) -> None:
    assert code_of(lambda: verifier.verify(sign(claims(**{missing: None})))) == (
        "token_claims_invalid"
    )


def test_a_bad_signature_is_refused(verifier: TokenVerifier) -> None:
    assert code_of(lambda: verifier.verify(sign(claims(), key="t" * 40))) == "token_invalid"
    head, _payload, sig = sign(claims()).split()[1].split(".")
    forged = base64.urlsafe_b64encode(
        json.dumps(claims(role=OP, exp=9_999_999_999), default=str).encode()
    )
    tampered = f"Bearer {head}.{forged.decode().rstrip('=')}.{sig}"
    assert code_of(lambda: verifier.verify(tampered)) == "token_invalid"


def test_an_unsigned_token_is_refused(verifier: TokenVerifier) -> None:
    unsigned = "Bearer " + jwt.encode(claims(), None, algorithm="none")
    assert code_of(lambda: verifier.verify(unsigned)) == "token_invalid"


def test_a_refusal_challenges_with_invalid_token(verifier: TokenVerifier) -> None:
    with pytest.raises(ApiError) as info:
        verifier.verify(sign(claims(), key="t" * 40))
    assert info.value.headers["WWW-Authenticate"] == 'Bearer realm="pakn", error="invalid_token"'
    body = json.loads(info.value.response().text)
    assert body["code"] == "token_invalid" and body["message"]["vi"] and body["message"]["en"]


@pytest.mark.parametrize(
    "bad",
    [
        {"role": "mayor"},
        {"role": None},
        {"role": HEAD, "unit": None},
        {"role": R, "unit": ""},
        {"role": H, "unit": 70},  # unit codes are strings: 00070 is not 70
        {"role": HEAD, "unit": "00070; DROP"},
        {"role": S, "unit": None, "sub": "not-a-pseudonym"},
        {"role": S, "unit": None, "sub": ME, "pseudonym": ME.upper()},
        {"sub": ""},
        {"sub": 42},
    ],
)
def test_a_token_with_wrong_claims_is_refused(verifier: TokenVerifier, bad: dict[str, Any]) -> None:
    body = claims(**{k: v for k, v in bad.items() if v is not None})
    body.update({k: v for k, v in bad.items() if v is not None})
    for k in [k for k, v in bad.items() if v is None]:
        body.pop(k, None)
    assert code_of(lambda: verifier.verify(sign(body))) == "token_claims_invalid"


def test_an_hs256_secret_shorter_than_32_bytes_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenVerifier(settings_for(tmp_path, auth_hs256_secret="short"))


def test_a_development_secret_is_created_once_under_home_secrets(tmp_path: Path) -> None:
    dev = settings_for(tmp_path, auth_hs256_secret="")
    first = TokenVerifier(dev)
    path = tmp_path / "secrets" / "auth_hs256_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text()
    assert len(secret) >= 32
    minted = "Bearer " + mint_token(dev, role=HEAD, unit=UNIT)
    assert first.verify(minted) == TokenVerifier(dev).verify(minted)
    assert path.read_text() == secret
    assert code_of(lambda: first.verify(sign(claims()))) == "token_invalid"  # not SECRET


# --- tokens: public keys ----------------------------------------------------------------------
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(private: Any) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwk(private: Any, kid: str, **extra: Any) -> dict[str, Any]:
    alg = jwt.algorithms.RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else None
    if alg is None:
        alg = jwt.algorithms.ECAlgorithm
    return {**json.loads(alg.to_jwk(private.public_key())), "kid": kid, **extra}


def write_jwks(path: Path, *keys: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"keys": list(keys)}))
    return path


@pytest.fixture(scope="module")
def rsa1() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def rsa2() -> rsa.RSAPrivateKey:
    return rsa_key()


def test_rs256_with_a_pem_public_key(tmp_path: Path, rsa1: rsa.RSAPrivateKey) -> None:
    (tmp_path / "idp-2026.pem").write_bytes(pem(rsa1))
    verifier = TokenVerifier(
        settings_for(
            tmp_path, auth_hs256_secret="", auth_public_keys_file=str(tmp_path / "idp-2026.pem")
        )
    )
    assert verifier.algorithms == ("RS256",)
    assert verifier.verify(sign(claims(), rsa1, "RS256")).role == HEAD
    assert verifier.verify(sign(claims(), rsa1, "RS256", kid="idp-2026")).role == HEAD
    assert code_of(lambda: verifier.verify(sign(claims(), rsa_key(), "RS256"))) == "token_invalid"
    assert (
        code_of(
            lambda: verifier.verify(
                sign(claims(exp=datetime.now(UTC) - timedelta(hours=1)), rsa1, "RS256")
            )
        )
        == "token_expired"
    )


def test_es256_with_a_jwks_file(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    keys = write_jwks(tmp_path / "jwks.json", jwk(key, "ec-1", alg="ES256", use="sig"))
    verifier = TokenVerifier(
        settings_for(tmp_path, auth_hs256_secret="", auth_public_keys_file=str(keys))
    )
    assert verifier.verify(sign(claims(), key, "ES256", kid="ec-1")).unit == UNIT


def test_key_rotation_two_keys_are_accepted_by_kid(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey, rsa2: rsa.RSAPrivateKey
) -> None:
    keys = write_jwks(tmp_path / "jwks.json", jwk(rsa1, "2026-01"), jwk(rsa2, "2026-07"))
    verifier = TokenVerifier(
        settings_for(tmp_path, auth_hs256_secret="", auth_public_keys_file=str(keys))
    )
    assert verifier.verify(sign(claims(sub="old"), rsa1, "RS256", kid="2026-01")).subject == "old"
    assert verifier.verify(sign(claims(sub="new"), rsa2, "RS256", kid="2026-07")).subject == "new"
    # the kid picks the key: a token signed by one key but naming the other is refused
    assert code_of(lambda: verifier.verify(sign(claims(), rsa1, "RS256", kid="2026-07"))) == (
        "token_invalid"
    )
    assert code_of(lambda: verifier.verify(sign(claims(), rsa1, "RS256", kid="2025-07"))) == (
        "token_invalid"
    )
    # without a kid every key of the algorithm is tried
    assert verifier.verify(sign(claims(sub="any"), rsa2, "RS256")).subject == "any"


def test_a_rotated_key_file_is_picked_up_without_a_restart(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey, rsa2: rsa.RSAPrivateKey
) -> None:
    keys = write_jwks(tmp_path / "jwks.json", jwk(rsa1, "2026-01"))
    verifier = TokenVerifier(
        settings_for(tmp_path, auth_hs256_secret="", auth_public_keys_file=str(keys))
    )
    new_token = sign(claims(), rsa2, "RS256", kid="2026-07")
    assert code_of(lambda: verifier.verify(new_token)) == "token_invalid"
    write_jwks(keys, jwk(rsa1, "2026-01"), jwk(rsa2, "2026-07"))
    os.utime(keys, ns=(0, 1_000_000_000))  # a different mtime, whatever the clock resolution
    assert verifier.verify(new_token).role == HEAD
    write_jwks(keys, jwk(rsa2, "2026-07"))  # the old key withdrawn
    os.utime(keys, ns=(0, 2_000_000_000))
    assert code_of(lambda: verifier.verify(sign(claims(), rsa1, "RS256", kid="2026-01"))) == (
        "token_invalid"
    )
    keys.write_text("{half a file")
    os.utime(keys, ns=(0, 3_000_000_000))
    assert verifier.verify(new_token).role == HEAD  # a broken file keeps the keys we had


def test_several_key_files_and_hs256_together(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey, rsa2: rsa.RSAPrivateKey
) -> None:
    (tmp_path / "a.pem").write_bytes(pem(rsa1))
    keys = write_jwks(tmp_path / "jwks.json", jwk(rsa2, "b"))
    spec = os.pathsep.join([str(tmp_path / "a.pem"), str(keys)])
    verifier = TokenVerifier(settings_for(tmp_path, auth_public_keys_file=spec))
    assert verifier.algorithms == ("HS256", "RS256")
    assert verifier.verify(sign(claims(), rsa1, "RS256", kid="a")).role == HEAD
    assert verifier.verify(sign(claims(), rsa2, "RS256", kid="b")).role == HEAD
    assert verifier.verify(sign(claims())).role == HEAD
    assert verifier.verify(sign(claims(), kid="a")).role == HEAD  # HS256: the secret, any kid


def test_hs256_is_off_when_only_public_keys_are_configured(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey
) -> None:
    (tmp_path / "idp.pem").write_bytes(pem(rsa1))
    verifier = TokenVerifier(
        settings_for(
            tmp_path, auth_hs256_secret="", auth_public_keys_file=str(tmp_path / "idp.pem")
        )
    )
    assert code_of(lambda: verifier.verify(sign(claims()))) == "token_invalid"
    assert not (tmp_path / "secrets").exists()


def test_the_public_key_is_never_used_as_an_hmac_secret(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey
) -> None:
    """Algorithm confusion: alg=HS256 'signed' with the public PEM must not verify."""
    (tmp_path / "idp.pem").write_bytes(pem(rsa1))
    verifier = TokenVerifier(
        settings_for(tmp_path, auth_public_keys_file=str(tmp_path / "idp.pem"))
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT","kid":"idp"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(
        json.dumps(claims(), default=lambda d: int(d.timestamp())).encode()
    ).rstrip(b"=")
    import hashlib
    import hmac

    sig = hmac.new(pem(rsa1), header + b"." + body, hashlib.sha256).digest()
    forged = b".".join([header, body, base64.urlsafe_b64encode(sig).rstrip(b"=")]).decode()
    assert code_of(lambda: verifier.verify(f"Bearer {forged}")) == "token_invalid"


def test_an_rs256_key_does_not_verify_an_es256_header(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey
) -> None:
    (tmp_path / "idp.pem").write_bytes(pem(rsa1))
    verifier = TokenVerifier(
        settings_for(
            tmp_path, auth_hs256_secret="", auth_public_keys_file=str(tmp_path / "idp.pem")
        )
    )
    es = ec.generate_private_key(ec.SECP256R1())
    assert code_of(lambda: verifier.verify(sign(claims(), es, "ES256", kid="idp"))) == (
        "token_invalid"
    )
    assert code_of(lambda: verifier.verify(sign(claims(), rsa1, "RS512", kid="idp"))) == (
        "token_invalid"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        ("not a key", "not a PEM public key"),
        ("PRIVATE", "not a PEM public key"),
        ('{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "x"}]}', "PAKN_AUTH_HS256_SECRET"),
        ("JWKS-NO-KID", "needs a kid"),
        ('{"keys": {}}', "a JWKS file is"),
        ("WEAK-RSA", "2048 bits"),
        ("P384", "P-256"),
        ("DUPLICATE-KID", "kid used twice"),
    ],
)
def test_a_broken_public_keys_file_stops_the_start(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey, content: str | None, message: str
) -> None:
    path = tmp_path / "keys.pem"
    if content == "PRIVATE":
        content = rsa1.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    elif content == "JWKS-NO-KID":
        content = json.dumps({"keys": [{k: v for k, v in jwk(rsa1, "x").items() if k != "kid"}]})
    elif content == "WEAK-RSA":
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        content = pem(weak).decode()
    elif content == "P384":
        content = pem(ec.generate_private_key(ec.SECP384R1())).decode()
    elif content == "DUPLICATE-KID":
        content = json.dumps({"keys": [jwk(rsa1, "same"), jwk(rsa1, "same")]})
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_public_keys(str(path))


def test_a_pem_certificate_is_accepted(tmp_path: Path, rsa1: rsa.RSAPrivateKey) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sso.hanoi.example")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa1.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(rsa1, hashes.SHA256())
    )
    (tmp_path / "sso.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (key,) = load_public_keys(str(tmp_path / "sso.pem"))
    assert (key.kid, key.algorithm) == ("sso", "RS256")


# --- the aiohttp helper -----------------------------------------------------------------------
@web.middleware
async def _api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()


async def _publish(request: web.Request) -> web.Response:
    case = CaseView(responsible_unit=request.match_info["unit"], case_id="case-1")
    who = require(request, "publish", case)
    assert principal_of(request) is who  # verified once per request
    return web.json_response({"subject": who.subject})


async def _command(request: web.Request) -> web.Response:
    who = require(request, request.match_info["command"])  # the role only
    return web.json_response({"role": who.role})


@pytest.fixture
async def client(settings: Settings) -> Any:
    app = web.Application(middlewares=[_api_errors])
    install_auth(app, settings)
    app.router.add_post("/cases/{unit}/publish", _publish)
    app.router.add_post("/commands/{command}", _command)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_a_handler_gets_the_principal(client: TestClient) -> None:
    resp = await client.post(f"/cases/{UNIT}/publish", headers={"Authorization": sign(claims())})
    assert resp.status == 200
    assert await resp.json() == {"subject": "officer-42"}


async def test_a_handler_answers_401_with_a_challenge(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.http.auth")
    resp = await client.post(f"/cases/{UNIT}/publish")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="pakn"'
    assert (await resp.json())["code"] == "token_missing"
    expired = sign(claims(exp=datetime.now(UTC) - timedelta(hours=1)))
    resp = await client.post(f"/cases/{UNIT}/publish", headers={"Authorization": expired})
    assert (resp.status, (await resp.json())["code"]) == (401, "token_expired")
    records = [r for r in caplog.records if r.getMessage() == "auth: refused"]
    assert [r.code for r in records] == ["token_missing", "token_expired"]
    assert records[1].route == f"/cases/{UNIT}/publish" and records[1].method == "POST"
    for r in records:
        assert expired.split()[1] not in json.dumps(r.__dict__, default=str)


async def test_a_handler_answers_403_and_logs_the_refusal(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.http.auth")
    token = sign(claims(sub="head-of-ba-dinh", unit=OTHER_UNIT))
    resp = await client.post(f"/cases/{UNIT}/publish", headers={"Authorization": token})
    assert resp.status == 403
    assert (await resp.json())["code"] == "not_your_unit"
    (record,) = [r for r in caplog.records if r.getMessage() == "auth: refused"]
    assert (record.subject, record.role, record.unit, record.action, record.code) == (
        "head-of-ba-dinh",
        HEAD,
        OTHER_UNIT,
        "publish",
        "not_your_unit",
    )
    assert token.split()[1] not in json.dumps(record.__dict__, default=str)
    handling = sign(claims(role=H))
    resp = await client.post(f"/cases/{UNIT}/publish", headers={"Authorization": handling})
    assert (await resp.json())["code"] == "role_not_allowed"


async def test_a_command_route_checks_the_role(client: TestClient) -> None:
    resp = await client.post("/commands/return_result", headers={"Authorization": sign(claims())})
    assert (resp.status, await resp.json()) == (200, {"role": HEAD})
    officer = sign(claims(role=H))
    resp = await client.post("/commands/return_result", headers={"Authorization": officer})
    assert (resp.status, (await resp.json())["code"]) == (403, "role_not_allowed")


def test_principal_of_needs_install_auth() -> None:
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request(
        "GET", "/", headers={"Authorization": "Bearer x"}, app=web.Application()
    )
    with pytest.raises(RuntimeError, match="install_auth"):
        principal_of(request)


# --- `pakn token` -----------------------------------------------------------------------------
def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(token_cmd, list(args), obj=settings)


def test_pakn_token_mints_a_token_the_gateway_accepts(settings: Settings) -> None:
    result = run(settings, "--role", "head", "--unit", UNIT)
    assert result.exit_code == 0, result.output
    minted = result.stdout.strip()
    assert TokenVerifier(settings).verify(f"Bearer {minted}") == Principal(
        f"dev-head-{UNIT}", HEAD, UNIT, None
    )
    body = jwt.decode(minted, SECRET, algorithms=["HS256"], audience=AUD)
    assert body["exp"] - body["iat"] == 3600 and body["iss"] == ISS and body["jti"]


def test_pakn_token_takes_a_subject_and_a_lifetime(settings: Settings) -> None:
    result = run(settings, "--role", "oversight", "--sub", "ttphcc-1", "--ttl", "60")
    assert result.exit_code == 0, result.output
    body = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"], audience=AUD)
    assert (body["sub"], body["exp"] - body["iat"]) == ("ttphcc-1", 60)
    assert "unit" not in body


def test_pakn_token_for_a_sender_uses_the_pseudonym_of_the_identity_number(
    settings: Settings,
) -> None:
    keyed = settings.model_copy(
        update={
            "pii_keys": "t:" + base64.b64encode(b"k" * 32).decode(),
            "pseudonym_key": base64.b64encode(b"p" * 32).decode(),
        }
    )
    result = run(keyed, "--role", "sender", "--identity", "001090001234")
    assert result.exit_code == 0, result.output
    expected = Privacy({"k": b"k" * 32}, "k", b"p" * 32).pseudonym("001090001234")
    who = TokenVerifier(keyed).verify("Bearer " + result.stdout.strip())
    assert who == Principal(expected, S, None, expected)
    by_pseudonym = run(keyed, "--role", "sender", "--pseudonym", ME)
    assert TokenVerifier(keyed).verify("Bearer " + by_pseudonym.stdout.strip()).pseudonym == ME


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "head"), "--unit is required"),
        (("--role", "handling_officer", "--unit", ""), "--unit is required"),
        (("--role", "sender"), "needs --identity"),
        (("--role", "sender", "--unit", UNIT, "--pseudonym", ME), "no --unit"),
        (("--role", "sender", "--pseudonym", ME, "--identity", "001090001234"), "not both"),
        (("--role", "head", "--unit", UNIT, "--pseudonym", ME), "only a sender"),
        (
            (
                "--role",
                "mayor",
            ),
            "Invalid value for '--role'",
        ),
        (("--role", "head", "--unit", UNIT, "--ttl", "0"), "Invalid value for '--ttl'"),
    ],
)
def test_pakn_token_refuses_bad_input(
    settings: Settings, args: tuple[str, ...], message: str
) -> None:
    result = run(settings, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "sender", "--pseudonym", "XYZ"), "pseudonym"),
        (("--role", "head", "--unit", "00070 bis"), "unit code"),
    ],
)
def test_pakn_token_refuses_claims_the_gateway_would_refuse(
    settings: Settings, args: tuple[str, ...], message: str
) -> None:
    result = run(settings, *args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_pakn_token_refuses_when_only_public_keys_are_configured(
    tmp_path: Path, rsa1: rsa.RSAPrivateKey
) -> None:
    (tmp_path / "idp.pem").write_bytes(pem(rsa1))
    only_keys = settings_for(
        tmp_path, auth_hs256_secret="", auth_public_keys_file=str(tmp_path / "idp.pem")
    )
    result = run(only_keys, "--role", "head", "--unit", UNIT)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "only public keys are configured" in result.stderr


def test_pakn_token_says_when_it_uses_the_development_secret(tmp_path: Path) -> None:
    dev = settings_for(tmp_path, auth_hs256_secret="")
    result = run(dev, "--role", "operator")
    assert result.exit_code == 0, result.output
    assert "development secret" in result.stderr
    assert str(tmp_path / "secrets" / "auth_hs256_secret") in result.stderr
    assert TokenVerifier(dev).verify("Bearer " + result.stdout.strip()).role == OP
