"""Decent wording (domain.md §3): screen a title or description for offensive Vietnamese.

``screen(text)`` returns ``Hit(start, end, term, action)`` for each offending span, with offsets
into the *original* text (``text[hit.start:hit.end]`` is what the sender wrote). ``action`` is
``reject`` (refuse the submission as offensive, code ``offensive_wording``) or ``review`` (flag it
for the receiving officer).

The word list is data: ``processors/data/offensive_vi.json`` plus an optional operator file named
by ``PAKN_WORDLIST_FILE`` (JSON in the same format, or the line format of ``parse_text``) whose
entries add to, replace (same term) or remove (action ``allow``) shipped ones. docs/integrity.md
describes the format and how to maintain it.

How a text is read (all per word, so offsets stay exact and the work stays linear):

1. Words are runs of letters (with their combining marks, so NFD input works), digits and the
   look-alike symbols ``@ $ ! |`` and masks ``* #``; zero-width characters inside a word are
   dropped. Each word is lower-cased and NFKC-normalised (full-width letters), Cyrillic/Greek
   look-alikes become Latin, leetspeak digits/symbols become letters (``0→o 1→i 3→e 4→a 5→s 7→t
   @→a $→s !→i |→l``) unless the word starts with a number (``50cc``, ``10dm``: number + unit).
2. **Diacritics are never stripped from a word that has them**: ``các`` is not ``cặc``, ``buổi``
   is not ``buồi``, ``lòng``/``lớn`` are not ``lồn``, ``đi`` is not ``đĩ``, ``đeo`` is not
   ``đéo``. A word written without diacritics only matches a list spelling that is itself
   without diacritics (a ``variant``, or the ASCII form of a term marked ``ascii`` because that
   form is not also an ordinary word).
3. A word that shows deliberate disguise (leetspeak, look-alike letters, masks, zero-width
   characters, letters spaced or dotted apart) may also match the ASCII form of any term of 3+
   letters (``l0n``, ``c4c``, ``đ3o``): nobody disguises an innocent word.
4. Letters repeated for emphasis match the single letter (``lồnnnn``, ``đmmm``), but a term's
   own doubled letters must be there (``cc`` needs two ``c``).
5. Single letters separated by spaces or dots, and words glued by punctuation, are also read
   joined (``đ m``, ``d.m``, ``đ.ị.t``); multi-word terms match across ordinary spaces and also
   written as one word (``ditme``). A masked word (``đ*t``, ``l**n``) matches a term whose
   unmasked letters agree.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import groupby
from pathlib import Path

SHIPPED_WORDLIST = "offensive_vi.json"
ACTIONS = ("reject", "review")
_SEVERITY = {"review": 1, "reject": 2}
REJECT_CODE = "offensive_wording"

_CONTEXT = ("except_after", "except_before")
FLAGS = (
    "ascii",
    "not_upper",
    "not_after_number",
    "accented_text_only",
    "obfuscated_only",
    "no_fold",
)


class WordListError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    term: str
    action: str


@dataclass(frozen=True, slots=True)
class Entry:
    term: str
    action: str  # "reject" | "review" | "allow" (allow: remove this term from earlier lists)
    variants: tuple[str, ...] = ()
    ascii: bool = False
    not_upper: bool = False
    not_after_number: bool = False
    accented_text_only: bool = False
    obfuscated_only: bool = False
    no_fold: bool = False
    except_after: tuple[str, ...] = ()  # not when the previous word is one of these
    except_before: tuple[str, ...] = ()  # not when the next word is one of these
    note: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, object], where: str) -> Entry:
        unknown = set(d) - {"term", "action", "variants", "note", *FLAGS, *_CONTEXT}
        if unknown:
            raise WordListError(f"{where}: unknown keys {sorted(unknown)}")
        term = d.get("term")
        action = d.get("action")
        variants = d.get("variants", [])
        if not isinstance(term, str) or not isinstance(action, str):
            raise WordListError(f"{where}: 'term' and 'action' must be strings")
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise WordListError(f"{where}: 'variants' must be a list of strings")
        flags: dict[str, bool] = {}
        context: dict[str, list[str]] = {}
        for name in _CONTEXT:
            words = d.get(name, [])
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise WordListError(f"{where}: {name!r} must be a list of words")
            context[name] = words
        for name in FLAGS:
            value = d.get(name, False)
            if not isinstance(value, bool):
                raise WordListError(f"{where}: {name!r} must be true or false")
            flags[name] = value
        return cls.make(term, action, variants, str(d.get("note", "")), where, **context, **flags)

    @classmethod
    def make(
        cls,
        term: str,
        action: str,
        variants: Iterable[str] = (),
        note: str = "",
        where: str = "entry",
        except_after: Iterable[str] = (),
        except_before: Iterable[str] = (),
        **flags: bool,
    ) -> Entry:
        if action not in (*ACTIONS, "allow"):
            raise WordListError(f"{where}: action must be reject, review or allow, not {action!r}")
        term = _canonical(term, where)
        spelled = tuple(_canonical(v, where) for v in variants)
        after = tuple(_canonical(w, where) for w in except_after)
        before = tuple(_canonical(w, where) for w in except_before)
        return cls(
            term, action, spelled, note=note, except_after=after, except_before=before, **flags
        )


def _canonical(spelling: str, where: str) -> str:
    words = unicodedata.normalize("NFC", spelling).lower().split()
    if not words or not all(w.isalpha() for w in words):
        raise WordListError(f"{where}: {spelling!r} must be one or more words of letters")
    return " ".join(words)


# --- the word-list files --------------------------------------------------------------------------
def parse_json(text: str, source: str) -> list[Entry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WordListError(f"{source}: not JSON ({exc})") from exc
    items = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise WordListError(f"{source}: expected a list of entries (or {{'entries': [...]}})")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise WordListError(f"{source}: entry {i} is not an object")
        out.append(Entry.from_dict(item, f"{source}: entry {i}"))
    return out


def parse_text(text: str, source: str) -> list[Entry]:
    """One entry a line: ``term ; action [; option ...]``; options are the flags by name and
    ``variant=spelling``, ``except_after=word``, ``except_before=word`` (each repeatable);
    ``#`` starts a comment. Example::

        # an operator's additions
        đồ mặt dày ; review
        dit me     ; reject ; ascii ; variant=djt me
        ngu        ; allow            # stop screening a shipped term
    """
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(";")]
        options = [o.strip() for p in parts[2:] for o in p.split(",") if o.strip()]
        if len(parts) < 2:
            raise WordListError(f"{source}:{n}: expected 'term ; action [; options]'")
        valued = {"variant": [], "except_after": [], "except_before": []}
        flags = []
        for o in options:
            name, eq, value = o.partition("=")
            if eq and name.strip() in valued:
                valued[name.strip()].append(value.strip())
            else:
                flags.append(o)
        unknown = set(flags) - set(FLAGS)
        if unknown:
            raise WordListError(f"{source}:{n}: unknown options {sorted(unknown)}")
        out.append(
            Entry.make(
                parts[0],
                parts[1],
                valued["variant"],
                "",
                f"{source}:{n}",
                except_after=valued["except_after"],
                except_before=valued["except_before"],
                **dict.fromkeys(flags, True),
            )
        )
    return out


def load_entries(path: str | Path) -> list[Entry]:
    p = Path(path)
    text = p.read_text("utf-8")
    return parse_json(text, str(p)) if p.suffix == ".json" else parse_text(text, str(p))


def shipped_entries() -> list[Entry]:
    text = resources.files("processors").joinpath("data", SHIPPED_WORDLIST).read_text("utf-8")
    return parse_json(text, f"shipped:{SHIPPED_WORDLIST}")


def merge(*lists: Iterable[Entry]) -> list[Entry]:
    """Later lists win: same term replaces, action ``allow`` removes."""
    by_term: dict[str, Entry] = {}
    for entries in lists:
        for e in entries:
            by_term.pop(e.term, None)
            if e.action != "allow":
                by_term[e.term] = e
    return list(by_term.values())


# --- text normalisation ---------------------------------------------------------------------------
_COMBINING = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_LEET_SYMBOLS = "@$!|"
_MASKS = "*#"
_TOKEN = re.compile(
    rf"(?:[^\W_]|[{_COMBINING}{_INVISIBLE}]|[{re.escape(_LEET_SYMBOLS + _MASKS)}])+"
)
_EDGE = _LEET_SYMBOLS + _MASKS + _INVISIBLE
_LEADING_DIGITS = re.compile(r"\d+")
_DROP_INVISIBLE = str.maketrans("", "", _INVISIBLE)
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "һ": "h",
        "ԁ": "d",
        "ӏ": "l",
        "ԛ": "q",
        "ԝ": "w",
        # Greek
        "α": "a",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "υ": "u",
        # Latin look-alikes
        "ı": "i",
        "ł": "l",
        "ø": "o",
    }
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
    | {"|": "l"}
)
_LEET_DIGITS = frozenset("013457")
_RUN = re.compile(r"(.)\1+")
_STRETCH = re.compile(r"(.)\1\1")
_MASK_RUN = re.compile(rf"[{re.escape(_MASKS)}]+")
_VIETNAMESE = re.compile(
    "[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]",
    re.IGNORECASE,
)
# Between the letters of one disguised word: punctuation with no space ("d.m", "l-ồ-n");
# between single letters also spaces ("đ m", "đ. m").
_GLUE = frozenset(".-_'`~^+")
_SPACES = frozenset(" \t\u00a0")
_MAX_GROUP = 12


def fold(s: str) -> str:
    """``s`` without diacritics: tone and vowel marks dropped, ``đ`` → ``d``."""
    decomposed = unicodedata.normalize("NFD", s.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _rle(word: str) -> tuple[tuple[str, int], ...]:
    return tuple((c, len(list(g))) for c, g in groupby(word))


def _covers(token: tuple[tuple[str, int], ...], term: tuple[tuple[str, int], ...]) -> bool:
    """The token spells the term, a letter possibly repeated more often (same collapsed form)."""
    return len(token) == len(term) and all(
        tc == pc and tn >= pn for (tc, tn), (pc, pn) in zip(token, term, strict=True)
    )


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    text: str  # normalised
    number: bool = False
    obfuscated: bool = False
    upper: bool = False
    after_number: bool = False
    masked: bool = False
    key: str = ""
    _rle: tuple[tuple[str, int], ...] | None = None
    _fold: tuple[str, tuple[tuple[str, int], ...]] | None = None

    @property
    def rle(self) -> tuple[tuple[str, int], ...]:
        if self._rle is None:
            self._rle = _rle(self.text)
        return self._rle

    @property
    def stretched(self) -> bool:
        return _STRETCH.search(self.text) is not None

    def folded(self) -> tuple[str, tuple[tuple[str, int], ...]]:
        if self._fold is None:
            f = fold(self.text)
            self._fold = (_RUN.sub(r"\1", f), _rle(f))
        return self._fold


def _key(t: str) -> str:
    return t if _RUN.search(t) is None else _RUN.sub(r"\1", t)


def _after_number(text: str, number_end: int, start: int) -> bool:
    gap = start - number_end
    return gap == 0 or (0 < gap <= 2 and all(c in _SPACES for c in text[number_end:start]))


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    number_end = -10
    for m in _TOKEN.finditer(text):
        raw = m.group()
        start, end = m.span()
        if raw.isalpha():  # the common case: a plain word
            t = raw.lower()
            obfuscated = False
            if not t.isascii():
                if not unicodedata.is_normalized("NFKC", t):
                    nfkc = unicodedata.normalize("NFKC", t)
                    obfuscated = nfkc != unicodedata.normalize("NFC", t)
                    t = nfkc
                mapped = t.translate(_HOMOGLYPHS)
                obfuscated = obfuscated or mapped != t
                t = mapped
            tok = _Token(start, end, t, obfuscated=obfuscated, upper=raw.isupper())
            tok.after_number = start - number_end <= 2 and _after_number(text, number_end, start)
            tok.key = _key(t)
            out.append(tok)
            continue
        while start < end and text[start] in _EDGE:
            start += 1
        while end > start and text[end - 1] in _EDGE:
            end -= 1
        if start == end:
            continue
        raw = text[start:end]
        digits = _LEADING_DIGITS.match(raw)
        if digits and (
            digits.end() == len(raw)
            or digits.end() >= 2
            or unicodedata.normalize("NFKC", raw[0]) not in _LEET_DIGITS
            or not any(c.isalpha() for c in raw)
        ):
            out.append(_Token(start, start + digits.end(), raw[: digits.end()], number=True))
            number_end = start + digits.end()
            start = number_end
            raw = raw[digits.end() :]
        if not any(c.isalpha() for c in raw):
            continue
        t = raw.lower()
        obfuscated = False
        if not t.isascii():
            plain = t.translate(_DROP_INVISIBLE)
            obfuscated = plain != t
            if not unicodedata.is_normalized("NFKC", plain):
                nfkc = unicodedata.normalize("NFKC", plain)
                obfuscated = obfuscated or nfkc != unicodedata.normalize("NFC", plain)
                plain = nfkc
            t = plain.translate(_HOMOGLYPHS)
            obfuscated = obfuscated or t != plain
        leet = t.translate(_LEET)
        obfuscated = obfuscated or leet != t
        letters = [c for c in raw if c.isalpha()]
        tok = _Token(
            start,
            end,
            leet,
            obfuscated=obfuscated,
            upper=all(c.isupper() for c in letters),
            after_number=_after_number(text, number_end, start),
            masked=any(c in _MASKS for c in leet),
        )
        tok.key = _key(leet)
        out.append(tok)
    return out


_WORD = rf"[^\W\d_](?:[^\W_]|[{_COMBINING}])*"
_PREVIOUS_WORD = re.compile(rf"({_WORD})[^\w\n{_COMBINING}]{{1,3}}$")
_NEXT_WORD = re.compile(rf"^[^\w\n{_COMBINING}]{{1,3}}({_WORD})")


def _accented_context(text: str, toks: list[_Token]) -> bool:
    """Whether a neighbouring word (same line) is written with Vietnamese diacritics: then an
    ASCII word beside it is meant as written, not as an ordinary word typed without marks."""
    return any(
        w is not None and _VIETNAMESE.search(w) is not None
        for w in (
            _neighbour(text, toks[0].start, before=True),
            _neighbour(text, toks[-1].end, before=False),
        )
    )


def _neighbour(text: str, at: int, *, before: bool) -> str | None:
    """The word right before (or after) offset ``at`` on the same line, normalised."""
    if before:
        m = _PREVIOUS_WORD.search(text, max(0, at - 40), at)
    else:
        m = _NEXT_WORD.match(text[at : at + 40])
    return unicodedata.normalize("NFC", m.group(1)).lower() if m else None


def _linked(text: str, a: _Token, b: _Token) -> bool:
    gap = b.start - a.end
    if gap == 0 or gap > 3 or a.number or b.number:
        return False
    single = len(a.text) == 1 and len(b.text) == 1
    if gap == 1 and text[a.end] == " " and not single:  # the common case: two words
        return False
    sep = text[a.end : b.start]
    if all(c in _GLUE for c in sep):
        return True
    return single and all(c in _GLUE or c in _SPACES for c in sep)


def _soft_gap(text: str, a: _Token, b: _Token) -> bool:
    sep = text[a.end : b.start]
    return 0 < len(sep) <= 5 and "\n" not in sep and not any(c.isalnum() for c in sep)


# --- the screener ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Form:
    words: tuple[tuple[tuple[str, int], ...], ...]
    entry: Entry
    order: int


@dataclass
class Screener:
    """A compiled word list. ``screen`` is safe to call from many threads."""

    entries: list[Entry]
    _exact: dict[str, list[_Form]] = field(init=False, repr=False)
    _folded: dict[str, list[_Form]] = field(init=False, repr=False)
    _singles: list[tuple[str, _Form]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._exact, self._folded, self._singles = {}, {}, []
        for order, e in enumerate(self.entries):
            if e.action == "allow":
                continue
            spellings = [e.term, *e.variants]
            exact = list(spellings)
            if e.ascii:
                exact += [fold(s) for s in spellings]
            for s in dict.fromkeys(exact):
                words = s.split()
                self._add(self._exact, words, e, order)
                if len(words) > 1:
                    self._add(self._exact, ["".join(words)], e, order)
            if e.no_fold:
                continue
            for s in dict.fromkeys(fold("".join(sp.split())) for sp in spellings):
                if len(_RUN.sub(r"\1", s)) >= 3:
                    self._add(self._folded, [s], e, order)

    def _add(self, index: dict[str, list[_Form]], words: list[str], e: Entry, order: int) -> None:
        form = _Form(tuple(_rle(w) for w in words), e, order)
        index.setdefault(_RUN.sub(r"\1", words[0]), []).append(form)
        if len(words) == 1:
            self._singles.append((words[0], form))

    @classmethod
    def from_files(cls, *paths: str | Path, shipped: bool = True) -> Screener:
        lists = [shipped_entries()] if shipped else []
        lists += [load_entries(p) for p in paths]
        return cls(merge(*lists))

    # -- matching
    def _allowed(self, e: Entry, toks: list[_Token], text: str) -> bool:
        if e.not_upper and all(t.upper for t in toks):
            return False
        if e.except_after and _neighbour(text, toks[0].start, before=True) in e.except_after:
            return False
        if e.except_before and _neighbour(text, toks[-1].end, before=False) in e.except_before:
            return False
        if e.not_after_number and toks[0].after_number:
            return False
        if e.obfuscated_only and not any(t.obfuscated or t.stretched for t in toks):
            return False
        return not (e.accented_text_only and not _accented_context(text, toks))

    def _single(self, tok: _Token, text: str, out: list[tuple[int, int, _Form]]) -> None:
        for form in self._exact.get(tok.key, ()):
            if (
                len(form.words) == 1
                and _covers(tok.rle, form.words[0])
                and self._allowed(form.entry, [tok], text)
            ):
                out.append((tok.start, tok.end, form))
        if tok.obfuscated:
            key, rle = tok.folded()
            for form in self._folded.get(key, ()):
                if _covers(rle, form.words[0]) and self._allowed(form.entry, [tok], text):
                    out.append((tok.start, tok.end, form))
        if tok.masked:
            self._masked(tok, text, out)

    def _masked(self, tok: _Token, text: str, out: list[tuple[int, int, _Form]]) -> None:
        pieces = _MASK_RUN.split(tok.text)
        if sum(len(p) for p in pieces) < 2:
            return
        masks = _MASK_RUN.findall(tok.text)
        pattern = "".join(
            re.escape(p) + (f".{{1,{len(masks[i]) + 1}}}" if i < len(masks) else "")
            for i, p in enumerate(pieces)
        )
        rx = re.compile(pattern)
        folded_rx = re.compile(fold(pattern))
        for spelling, form in self._singles:
            if (rx.fullmatch(spelling) or folded_rx.fullmatch(fold(spelling))) and self._allowed(
                form.entry, [tok], text
            ):
                out.append((tok.start, tok.end, form))

    def _phrases(
        self, toks: list[_Token], i: int, text: str, out: list[tuple[int, int, _Form]]
    ) -> None:
        first = toks[i]
        for form in self._exact.get(first.key, ()):
            n = len(form.words)
            if n == 1 or i + n > len(toks) or not _covers(first.rle, form.words[0]):
                continue
            run = toks[i : i + n]
            if all(
                not t.number and _soft_gap(text, p, t) and _covers(t.rle, w)
                for p, t, w in zip(run, run[1:], form.words[1:], strict=False)
            ) and self._allowed(form.entry, run, text):
                out.append((first.start, run[-1].end, form))

    def screen(self, text: str) -> list[Hit]:
        """The offending spans of ``text``, in order; a span inside a longer hit of at least the
        same severity is left out."""
        toks = _tokens(text)
        found: list[tuple[int, int, _Form]] = []
        group: list[_Token] = []
        for i, tok in enumerate(toks):
            if tok.number:
                self._merged(group, text, found)
                group = []
                continue
            if tok.key in self._exact:
                self._single(tok, text, found)
                self._phrases(toks, i, text, found)
            elif tok.obfuscated or tok.masked:
                self._single(tok, text, found)
            if group and not _linked(text, group[-1], tok):
                self._merged(group, text, found)
                group = []
            group.append(tok)
        self._merged(group, text, found)
        return _resolve(found)

    def _merged(self, group: list[_Token], text: str, out: list[tuple[int, int, _Form]]) -> None:
        if len(group) < 2:
            return
        for a in range(len(group)):
            for b in range(a + 2, min(len(group), a + _MAX_GROUP) + 1):
                pieces = group[a:b]
                joined = "".join(p.text for p in pieces)
                tok = _Token(
                    pieces[0].start,
                    pieces[-1].end,
                    joined,
                    # letters spaced apart are a disguise; words glued by a dot may be a typo,
                    # so those only match spellings exactly (never the ASCII form of a term)
                    obfuscated=all(len(p.text) == 1 for p in pieces),
                    upper=all(p.upper for p in pieces),
                    after_number=pieces[0].after_number,
                )
                tok.key = _RUN.sub(r"\1", joined)
                self._single(tok, text, out)

    def screen_fields(self, fields: Mapping[str, str | None]) -> dict[str, list[Hit]]:
        """``screen`` each named text (e.g. title, description); only fields with hits."""
        out = {}
        for name, value in fields.items():
            hits = self.screen(value) if value else []
            if hits:
                out[name] = hits
        return out


def _resolve(found: list[tuple[int, int, _Form]]) -> list[Hit]:
    # One hit per span: the most severe entry, then the first in the list.
    best: dict[tuple[int, int], _Form] = {}
    for start, end, form in found:
        cur = best.get((start, end))
        if cur is None or (_SEVERITY[form.entry.action], -form.order) > (
            _SEVERITY[cur.entry.action],
            -cur.order,
        ):
            best[(start, end)] = form
    spans = sorted(best, key=lambda s: (s[0], -s[1]))
    out = []
    for s in spans:
        sev = _SEVERITY[best[s].entry.action]
        if any(
            o != s and o[0] <= s[0] and s[1] <= o[1] and _SEVERITY[best[o].entry.action] >= sev
            for o in spans
        ):
            continue
        out.append(Hit(s[0], s[1], best[s].entry.term, best[s].entry.action))
    return out


def verdict(hits: Iterable[Hit]) -> str | None:
    """``reject`` if any hit rejects, else ``review`` if any hit, else None."""
    actions = {h.action for h in hits}
    return "reject" if "reject" in actions else ("review" if actions else None)


def load_screener(path: str | Path | None = None) -> Screener:
    """The shipped list plus ``path`` (the operator's ``PAKN_WORDLIST_FILE``, passed by pakn)."""
    return Screener.from_files(path) if path else shipped_screener()


@lru_cache(maxsize=1)
def shipped_screener() -> Screener:
    """The shipped word list, compiled once (data of the package, not configuration)."""
    return Screener.from_files()


def screen(text: str) -> list[Hit]:
    """The shipped list's hits; a process with a word list of its own screens with its
    ``Rules.screen``."""
    return shipped_screener().screen(text)
