"""Who may do what: signed tokens (JWT) say who is calling, a rule table says what they may do.

* **Authentication** — ``TokenVerifier(settings).verify("Bearer <jwt>") -> Principal``. Agency users
  carry ``role`` and ``unit`` (the unit code, e.g. ``00070``); citizens carry an app token with role
  ``sender`` bound to their pseudonym (``pseudonym`` claim, else ``sub``; see
  ``pakn.privacy.Privacy.pseudonym``). HS256 with a shared secret, RS256/ES256 with public keys
  (PEM or JWKS files, chosen by ``kid``). Every failure is an ``ApiError`` with a 401 code.
* **Authorization** — ``authorize(principal, action, case)``: ``RULES`` below (action -> roles ->
  whose cases) is domain.md §1 as data. Every refusal is a 403 code and one structured log line.
* **In handlers** — ``principal_of(request)`` / ``require(request, action, case)`` (after
  ``install_auth(app, settings)``).

Nothing here ever logs a token. docs/auth.md is the reader's version.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.exceptions import InvalidIssuedAtError, InvalidJTIError, InvalidSubjectError

from gateway.http.errors import ApiError
from pakn.privacy import _dev_secret
from pakn.settings import Settings

log = logging.getLogger("gateway.http.auth")

# --- roles (domain.md §1) ---------------------------------------------------------------------
RECEIVING = "receiving_officer"  # cán bộ tiếp nhận, điều phối: receives, rejects, assigns
HANDLING = "handling_officer"  # cá nhân xử lý: researches and proposes the result
HEAD = "head"  # thủ trưởng / lãnh đạo đơn vị: approves and publishes
OVERSIGHT = "oversight"  # Trung tâm Phục vụ hành chính công: reads every unit's figures
OPERATOR = "operator"  # platform operator: oversight reads, and the only one who re-identifies
SENDER = "sender"  # citizen / organisation, through the app
RECEPTION_OFFICE = "reception_office"  # Ban Tiếp công dân: reception sessions and their lists
COMMUNICATIONS = "communications_officer"  # drafts warnings to citizens; the head approves

AGENCY_ROLES = (RECEIVING, HANDLING, HEAD, OVERSIGHT, OPERATOR, RECEPTION_OFFICE, COMMUNICATIONS)
# these tokens must name their unit
UNIT_ROLES = frozenset({RECEIVING, HANDLING, HEAD, COMMUNICATIONS})
ROLES = (*AGENCY_ROLES, SENDER)

# --- on which cases (the scope of a rule) -----------------------------------------------------
OWN_UNIT = "own_unit"  # the case's responsible unit is the officer's unit
TARGET_UNIT = "target_unit"  # the unit a proposed transfer goes to decides on it
OWN_CASE = "own_case"  # the case's sender pseudonym is the caller's pseudonym
ANY_UNIT = "any_unit"  # no case, or any case of any unit


class Rule(NamedTuple):
    roles: frozenset[str]
    scope: str


def _rule(*roles: str, on: str) -> Rule:
    return Rule(frozenset(roles), on)


# --- the rule table: action -> who, on which cases ---------------------------------------------
# A head can do everything the officers of their unit can; only a head approves and publishes.
RULES: Mapping[str, Rule] = {
    # receiving / coordinating officer (tiếp nhận, điều phối — §4.1 steps 1-2)
    "receive": _rule(RECEIVING, HEAD, on=OWN_UNIT),
    "reject": _rule(RECEIVING, HEAD, on=OWN_UNIT),
    "assign": _rule(RECEIVING, HEAD, on=OWN_UNIT),
    "forward": _rule(RECEIVING, HEAD, on=OWN_UNIT),
    "propose_transfer": _rule(RECEIVING, HEAD, on=OWN_UNIT),
    # level of the case (urgent / normal / complex, §5): whoever receives or handles it (choice)
    "classify": _rule(RECEIVING, HANDLING, HEAD, on=OWN_UNIT),
    # handling officer (cá nhân xử lý — §4.1 step 3)
    "request_info": _rule(HANDLING, HEAD, on=OWN_UNIT),
    "resume": _rule(HANDLING, HEAD, on=OWN_UNIT),
    "request_extension": _rule(HANDLING, HEAD, on=OWN_UNIT),  # legal-procedure extension (choice)
    "extend": _rule(HANDLING, HEAD, on=OWN_UNIT),  # the name for request_extension
    "propose_result": _rule(HANDLING, HEAD, on=OWN_UNIT),
    # head of unit (thủ trưởng — §4.1 step 4): approvals and publication
    "approve_transfer": _rule(HEAD, on=TARGET_UNIT),  # the receiving unit accepts the case
    "decline_transfer": _rule(HEAD, on=TARGET_UNIT),
    "approve_extension": _rule(HEAD, on=OWN_UNIT),
    "approve_result": _rule(HEAD, on=OWN_UNIT),
    "return_result": _rule(HEAD, on=OWN_UNIT),  # the proposal goes back to the handling officer
    "publish": _rule(HEAD, on=OWN_UNIT),
    # evidence files for results (and documents of any officer's action), before the command
    "upload_media": _rule(RECEIVING, HANDLING, HEAD, on=ANY_UNIT),
    # reading a case and its sender (a confidential one stays hidden: processors/disclosure.py)
    "read_case": _rule(RECEIVING, HANDLING, HEAD, on=OWN_UNIT),
    # integrity flags and their evidence (docs/integrity.md §4): the responsible unit's officers
    "read_integrity": _rule(RECEIVING, HANDLING, HEAD, on=OWN_UNIT),
    # the sender, on their own feedback only (§4.1 step 5)
    "track": _rule(SENDER, on=OWN_CASE),
    "rate": _rule(SENDER, on=OWN_CASE),
    "reopen": _rule(SENDER, on=OWN_CASE),
    "withdraw": _rule(SENDER, on=OWN_CASE),
    "provide_info": _rule(SENDER, on=OWN_CASE),  # the answer to request_info (issue 14)
    # oversight (§6): every unit's cases and figures
    "oversight_read": _rule(OVERSIGHT, OPERATOR, on=ANY_UNIT),
    # warnings to citizens (docs/warnings.md): the unit's communications officer drafts, its
    # head approves; every change of an approved warning is the head's (it goes out at once).
    # The unit of the warning is checked by the worker (processors/warnings.py).
    "warning_draft": _rule(COMMUNICATIONS, HEAD, on=OWN_UNIT),
    "warning_edit": _rule(COMMUNICATIONS, HEAD, on=OWN_UNIT),
    "warning_approve": _rule(HEAD, on=OWN_UNIT),
    "warning_update": _rule(HEAD, on=OWN_UNIT),
    "warning_cancel": _rule(HEAD, on=OWN_UNIT),
    "warning_supersede": _rule(HEAD, on=OWN_UNIT),
    "warning_subscribe": _rule(SENDER, on=ANY_UNIT),
    # re-identifying a (confidential) sender: the platform operator only (§3)
    "reidentify": _rule(OPERATOR, on=ANY_UNIT),
    # citizen reception (docs/reception.md): the office publishes sessions, sees each slot's list
    # with the citizens' identity, checks people in and marks no-shows. Citizens book with their
    # identity (or a sender token bound to it): the worker binds a booking to its citizen.
    "reception_publish": _rule(RECEPTION_OFFICE, on=ANY_UNIT),
    "reception_list": _rule(RECEPTION_OFFICE, on=ANY_UNIT),
    "reception_attend": _rule(RECEPTION_OFFICE, on=ANY_UNIT),
}
ACTIONS = tuple(RULES)

ALGORITHMS = ("HS256", "RS256", "ES256")
HS256_MIN_BYTES = 32
DEV_SECRET_FILE = "auth_hs256_secret"
PSEUDONYM_RE = re.compile(r"[0-9a-f]{64}")  # hex HMAC-SHA256, as Privacy.pseudonym makes it
UNIT_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
REALM = "pakn"


@dataclass(frozen=True)
class Principal:
    """Who is calling: from a verified token only."""

    subject: str
    role: str
    unit: str | None = None  # agency roles: the unit code (required for officers and heads)
    pseudonym: str | None = None  # sender: the HMAC pseudonym of their identity number


@dataclass(frozen=True)
class CaseView:
    """What authorization needs to know about a case."""

    responsible_unit: str | None
    sender_pseudonym: str | None = None
    case_id: str | None = None  # only for the refusal log
    transfer_target: str | None = None  # the unit of a proposed transfer (approve/decline)


@dataclass
class AuthError(ApiError):
    """An ApiError whose ``reason`` goes to the log only (never to the caller)."""

    reason: str = ""


def _unauthenticated(code: str, reason: str) -> AuthError:
    # RFC 6750 §3: a challenge on every 401; no error attribute when no credentials were sent.
    if code == "token_missing":
        challenge = f'Bearer realm="{REALM}"'
    elif code == "token_malformed":
        challenge = f'Bearer realm="{REALM}", error="invalid_request"'
    else:
        challenge = f'Bearer realm="{REALM}", error="invalid_token"'
    return AuthError(code, headers={"WWW-Authenticate": challenge}, reason=reason)


# --- keys -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerificationKey:
    kid: str | None
    algorithm: str  # one of ALGORITHMS
    key: Any  # bytes (HS256) or a cryptography public key
    source: str  # where it came from (for messages; never the key)


def _split(spec: str) -> list[str]:
    return [p.strip() for p in spec.split(",") if p.strip()]


def hs256_secret(settings: Settings) -> tuple[bytes, str] | None:
    """The shared HS256 secret and where it came from; None when HS256 is off.

    Configured secret -> that. Nothing configured at all -> a development secret created once under
    ``<home>/secrets``. Only public keys configured -> HS256 is off (production with an IdP).
    """
    if settings.auth_hs256_secret:
        secret, source = settings.auth_hs256_secret, "PAKN_AUTH_HS256_SECRET"
    elif settings.auth_public_keys_file.strip():
        return None
    else:
        secret = _dev_secret(settings.home, DEV_SECRET_FILE, secrets.token_urlsafe(48))
        source = str(settings.home / "secrets" / DEV_SECRET_FILE)
    raw = secret.encode()
    if len(raw) < HS256_MIN_BYTES:
        raise ValueError(f"the HS256 secret ({source}) must be at least {HS256_MIN_BYTES} bytes")
    return raw, source


def _algorithm_of(key: Any, source: str) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError(f"{source}: RSA keys must have at least 2048 bits")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError(f"{source}: only RSA (RS256) and P-256 (ES256) public keys are accepted")


def _pem_keys(path: Path, data: bytes) -> list[VerificationKey]:
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ValueError(f"{path}: not a PEM public key or certificate ({exc})") from None
    return [VerificationKey(path.stem, _algorithm_of(key, str(path)), key, str(path))]


def _jwks_keys(path: Path, data: bytes) -> list[VerificationKey]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f'{path}: a JWKS file is {{"keys": [...]}}')
    keys = []
    for i, entry in enumerate(entries):
        where = f"{path} key #{i}"
        if not isinstance(entry, dict) or not entry.get("kid"):
            raise ValueError(f"{where}: every key needs a kid")
        if entry.get("kty") == "oct":
            raise ValueError(f"{where}: shared secrets belong in PAKN_AUTH_HS256_SECRET")
        if entry.get("use", "sig") != "sig":
            continue  # an encryption key published beside the signing keys
        try:
            key = jwt.PyJWK(entry).key
        except jwt.PyJWTError as exc:
            raise ValueError(f"{where}: {exc}") from None
        alg = _algorithm_of(key, where)
        if entry.get("alg", alg) != alg:
            raise ValueError(f"{where}: alg {entry['alg']!r} does not fit the key ({alg})")
        keys.append(VerificationKey(str(entry["kid"]), alg, key, where))
    return keys


def load_public_keys(spec: str) -> list[VerificationKey]:
    """Keys from ``PAKN_AUTH_PUBLIC_KEYS_FILE``: os.pathsep-separated PEM or JWKS files."""
    keys: list[VerificationKey] = []
    for name in filter(None, (p.strip() for p in spec.split(os.pathsep))):
        path = Path(name).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"public keys file {path}: {exc.strerror}") from None
        keys += _jwks_keys(path, data) if data.lstrip().startswith(b"{") else _pem_keys(path, data)
    kids = [k.kid for k in keys]
    if dupes := sorted({k for k in kids if kids.count(k) > 1 and k is not None}):
        raise ValueError(f"public keys: kid used twice: {', '.join(map(str, dupes))}")
    return keys


# --- claims -> principal ----------------------------------------------------------------------
def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal a verified token names, or ``token_claims_invalid``."""

    def bad(reason: str) -> AuthError:
        return _unauthenticated("token_claims_invalid", reason)

    subject, role = claims.get("sub"), claims.get("role")
    if not isinstance(subject, str) or not subject.strip():
        raise bad("sub missing or empty")
    if role not in ROLES:
        raise bad(f"unknown role {str(role)[:40]!r}")
    if role == SENDER:
        pseudonym = claims.get("pseudonym", subject)
        if not isinstance(pseudonym, str) or not PSEUDONYM_RE.fullmatch(pseudonym):
            raise bad("a sender token needs a pseudonym (64 lowercase hex)")
        return Principal(subject, role, None, pseudonym)
    unit = claims.get("unit")
    if unit is None and role not in UNIT_ROLES:
        return Principal(subject, role, None, None)
    if not isinstance(unit, str) or not UNIT_RE.fullmatch(unit):
        raise bad(f"role {role} needs a unit code (a string such as '00070')")
    return Principal(subject, role, unit, None)


# --- verification -----------------------------------------------------------------------------
def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if authorization is None or not authorization.strip():
        raise _unauthenticated("token_missing", "no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise _unauthenticated("token_malformed", f"scheme {scheme[:20]!r}, not 'Bearer <token>'")
    return token


_CLAIM_CODES = {"aud": "token_wrong_audience", "iss": "token_wrong_issuer"}
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


class TokenVerifier:
    """Verifies ``Authorization`` headers against the configured issuer, audience and keys.

    HS256 tokens are checked with the shared secret (their kid, if any, is ignored). RS256/ES256
    tokens with a ``kid`` use that key; without a kid, every key of that algorithm is tried. The
    key files are re-read when they change, so adding or removing a key needs no restart.
    """

    def __init__(self, settings: Settings) -> None:
        self._issuers = _split(settings.auth_issuer)
        self._audiences = _split(settings.auth_audience)
        if not self._issuers or not self._audiences:
            raise ValueError("PAKN_AUTH_ISSUER and PAKN_AUTH_AUDIENCE must not be empty")
        self._leeway = settings.auth_leeway_s
        self._keys_spec = settings.auth_public_keys_file
        self._stamp = self._files_stamp()
        self._public = load_public_keys(self._keys_spec)
        hs = hs256_secret(settings)
        self._hs256 = VerificationKey(None, "HS256", hs[0], hs[1]) if hs else None
        if hs and not settings.auth_hs256_secret:
            log.warning("auth: HS256 tokens use the development secret", extra={"file": hs[1]})

    @property
    def algorithms(self) -> tuple[str, ...]:
        found = {k.algorithm for k in self._public} | ({"HS256"} if self._hs256 else set())
        return tuple(a for a in ALGORITHMS if a in found)

    def _files_stamp(self) -> tuple[tuple[str, int, int], ...]:
        stamp = []
        for name in filter(None, (p.strip() for p in self._keys_spec.split(os.pathsep))):
            try:
                st = os.stat(name)
                stamp.append((name, st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append((name, -1, -1))
        return tuple(stamp)

    def _reload_if_changed(self) -> bool:
        stamp = self._files_stamp()
        if stamp == self._stamp:
            return False
        try:
            keys = load_public_keys(self._keys_spec)
        except ValueError as exc:  # a half-written file: keep the keys we have
            log.warning("auth: public keys not reloaded", extra={"error": str(exc)[:300]})
            return False
        self._stamp, self._public = stamp, keys
        log.info("auth: public keys reloaded", extra={"kids": [k.kid for k in keys]})
        return True

    def _candidates(self, alg: str, kid: Any) -> list[VerificationKey]:
        if alg == "HS256":
            return [self._hs256] if self._hs256 else []
        self._reload_if_changed()  # one stat per key file: rotation and removal need no restart
        return [k for k in self._public if k.algorithm == alg and (kid is None or k.kid == kid)]

    def verify(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthenticated("token_malformed", f"not a JWT: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise _unauthenticated("token_invalid", f"algorithm {str(alg)[:20]!r} not accepted")
        candidates = self._candidates(alg, kid)
        if not candidates:
            raise _unauthenticated("token_invalid", f"no {alg} key for kid {str(kid)[:64]!r}")
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=[key.algorithm],
                    audience=self._audiences,
                    issuer=self._issuers,
                    leeway=self._leeway,
                    options={"require": REQUIRED_CLAIMS, "enforce_minimum_key_length": True},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise _unauthenticated("token_expired", "exp has passed") from None
            except jwt.ImmatureSignatureError as exc:
                raise _unauthenticated("token_not_yet_valid", str(exc)) from None
            except jwt.InvalidAudienceError as exc:
                raise _unauthenticated("token_wrong_audience", str(exc)) from None
            except jwt.InvalidIssuerError as exc:
                raise _unauthenticated("token_wrong_issuer", str(exc)) from None
            except jwt.MissingRequiredClaimError as exc:
                code = _CLAIM_CODES.get(exc.claim, "token_claims_invalid")
                raise _unauthenticated(code, str(exc)) from None
            except (InvalidIssuedAtError, InvalidSubjectError, InvalidJTIError) as exc:
                raise _unauthenticated("token_claims_invalid", str(exc)) from None
            except jwt.DecodeError as exc:
                raise _unauthenticated("token_malformed", str(exc)) from None
            except jwt.PyJWTError as exc:
                raise _unauthenticated("token_invalid", f"{type(exc).__name__}: {exc}") from None
            return principal_from_claims(claims)
        raise _unauthenticated("token_invalid", f"bad {alg} signature (kid {str(kid)[:64]!r})")


# --- authorization ----------------------------------------------------------------------------
def authorize(principal: Principal, action: str, case: CaseView | None = None) -> None:
    """Allow, or raise ApiError ``role_not_allowed`` / ``not_your_unit`` / ``not_your_case``.

    The role is checked first, then — when ``case`` is given — whose case it is. Without ``case``
    only the role is checked: the gateway's command route does that, and the worker binds the
    actor to the case with the authoritative state (processors/workflow.py ``_authorise``).
    An unknown action is a bug (ValueError), never a silent allow.
    """
    rule = RULES.get(action)
    if rule is None:
        raise ValueError(f"unknown action {action!r}")
    code = ""
    if principal.role not in rule.roles:
        code = "role_not_allowed"
    elif case is None or rule.scope == ANY_UNIT:
        pass
    elif rule.scope in (OWN_UNIT, TARGET_UNIT):
        unit = case.responsible_unit if rule.scope == OWN_UNIT else case.transfer_target
        if not (principal.unit and unit == principal.unit):
            code = "not_your_unit"
    elif rule.scope == OWN_CASE:
        mine, theirs = principal.pseudonym or "", case.sender_pseudonym or ""
        if not (mine and theirs and hmac.compare_digest(mine, theirs)):
            code = "not_your_case"
    if code:
        log.warning(
            "auth: refused",
            extra={
                "subject": principal.subject,
                "role": principal.role,
                "unit": principal.unit,
                "action": action,
                "code": code,
                "case_id": case.case_id if case else None,
                "case_unit": case.responsible_unit if case else None,
                "transfer_target": case.transfer_target if case else None,
            },
        )
        raise AuthError(code, reason=action)


# --- aiohttp ----------------------------------------------------------------------------------
VERIFIER = web.AppKey("token_verifier", TokenVerifier)
_PRINCIPAL = web.RequestKey("principal", Principal)


def install_auth(app: web.Application, settings: Settings) -> TokenVerifier:
    """Put a TokenVerifier on the app (before it starts); ``principal_of`` uses it."""
    app[VERIFIER] = verifier = TokenVerifier(settings)
    return verifier


def principal_of(request: web.Request) -> Principal:
    """The verified caller of this request (verified once, then remembered on the request)."""
    found = request.get(_PRINCIPAL)
    if isinstance(found, Principal):
        return found
    verifier = request.app.get(VERIFIER)
    if verifier is None:
        raise RuntimeError("gateway.http.auth.install_auth(app, settings) was not called")
    try:
        principal = verifier.verify(request.headers.get("Authorization"))
    except AuthError as exc:
        log.warning(
            "auth: refused",
            extra={
                "subject": None,
                "role": None,
                "unit": None,
                "action": None,
                "code": exc.code,
                "reason": exc.reason,
                "method": request.method,
                "route": request.path,
            },
        )
        raise
    request[_PRINCIPAL] = principal
    return principal


def require(request: web.Request, action: str, case: CaseView | None = None) -> Principal:
    """Verified caller allowed to do ``action`` on ``case`` — or a 401/403 ApiError (logged)."""
    principal = principal_of(request)
    authorize(principal, action, case)
    return principal


# --- development tokens -----------------------------------------------------------------------
def mint_token(
    settings: Settings,
    *,
    role: str,
    unit: str | None = None,
    subject: str | None = None,
    pseudonym: str | None = None,
    ttl_s: int = 3600,
    now: datetime | None = None,
) -> str:
    """A token signed with the HS256 secret (development and tests; ``pakn token``).

    Raises ValueError when HS256 is off (only public keys configured) or the claims would not
    verify (unknown role, officer without unit, sender without pseudonym).
    """
    hs = hs256_secret(settings)
    if hs is None:
        raise ValueError(
            "only public keys are configured (PAKN_AUTH_PUBLIC_KEYS_FILE): tokens come from the "
            "identity provider; set PAKN_AUTH_HS256_SECRET to mint development tokens"
        )
    if ttl_s <= 0:
        raise ValueError("ttl must be positive")
    if role == SENDER and unit is not None:
        raise ValueError("a sender token carries no unit")
    if role != SENDER and pseudonym is not None:
        raise ValueError("only a sender token carries a pseudonym")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    if subject is None:
        subject = pseudonym if role == SENDER else f"dev-{role}" + (f"-{unit}" if unit else "")
    claims: dict[str, Any] = {
        "iss": _split(settings.auth_issuer)[0],
        "aud": _split(settings.auth_audience)[0],
        "sub": subject,
        "role": role,
        "iat": issued,
        "nbf": issued,
        "exp": issued + timedelta(seconds=ttl_s),
        "jti": uuid.uuid4().hex,
    }
    if unit is not None:
        claims["unit"] = unit
    if pseudonym is not None:
        claims["pseudonym"] = pseudonym
    try:
        principal_from_claims(claims)
    except AuthError as exc:
        raise ValueError(exc.reason) from None
    return jwt.encode(claims, hs[0], algorithm="HS256")
