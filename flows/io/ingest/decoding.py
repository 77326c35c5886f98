"""Decode a file's bytes to text as a browser would, or say why they are no text."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from flows.core.settings import IngestConfig
from flows.io.charsets import codec_for_label, decode_marked, marked_bytes, mend
from flows.io.ingest.rows import BINARY, EMPTY, PREVIEW_CHARS, UNDECODABLE, _Unreadable

# Byte-order marks that identify UTF-32/UTF-16 (UTF-32 first: its LE mark starts with UTF-16's).
_UTF_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Western European legacy text: charset-normalizer often ranks cp1250 first on English or
# French text whose decoding is identical or equally clean in cp1252 ("crème" -> "crčme").
_PREFERRED_LEGACY = "cp1252"
# C0 control bytes other than whitespace and ESC: text in any 8-bit encoding has almost none,
# binary data has ~11%. Non-UTF-8 bytes with more than this share are binary, not text.
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\v\f\r\x1b") + b"\x7f"
_MAX_CONTROL_SHARE = 0.01
# A page's own declaration of its encoding (HTML prescan, XML declaration).


_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_META_CHARSET = re.compile(r"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([^\s\"'/;>]+)", re.I)
_XML_ENCODING = re.compile(r"\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"']+)[\"']", re.I)


def _decode(data: bytes, config: IngestConfig, markup: bool = False) -> str:
    """Decode bytes to text as a browser would, with markers for replaced bytes (see `mend`)."""
    return _decode_valid(data, config, markup)[0]


def _decode_valid(data: bytes, config: IngestConfig, markup: bool = False) -> tuple[str, bool]:
    """Decode bytes as `_decode` does; also say whether they were valid UTF-8 (strictly decoded).

    A strictly decoded text holds neither markers nor lone surrogates, so that callers need
    not look for them.

    In order: a UTF-16/32 byte-order mark (strict, as the mark leaves no doubt); a UTF-8 one;
    UTF-8 when the bytes decode; for markup, a `<meta charset>` / http-equiv or XML
    declaration in the first `config.declaration_bytes` (WHATWG labels); UTF-8 when the bytes
    decode but for a few corrupt sequences among valid non-ASCII ones; else
    charset-normalizer's guess. Invalid sequences
    are replaced (one marker each) when at most `config.max_replaced_share` of the bytes are.

    Binary: NUL bytes (outside UTF-16/32), or non-UTF-8 bytes with many control codes.
    Undecodable: a BOM contradicted by the bytes, or text that no encoding decodes with few
    enough replaced bytes.
    """
    for bom, encoding in _UTF_BOMS:
        if data.startswith(bom):
            text = _strict_decode(data, encoding, f"{encoding.upper()} byte-order mark")
            if "\x00" in text:
                raise _Unreadable(BINARY, f"{encoding.upper()} text holds NUL characters: binary")
            return text, False
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _Unreadable(BINARY, f"NUL byte at offset {nul}: binary data, not text")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    body = data[bom:]
    try:
        strict: str | None = body.decode("utf-8")
        not_utf8 = ""
    except UnicodeDecodeError as exc:
        strict = None
        not_utf8 = f"not UTF-8 (invalid byte at offset {bom + exc.start})"
        controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
        if controls > _MAX_CONTROL_SHARE * len(data):
            raise _Unreadable(
                BINARY, f"{not_utf8} and {controls} control bytes: binary data, not text"
            ) from None
    if bom:
        if strict is not None:
            return strict, True
        return _lenient(body, "utf-8", config, f"UTF-8 byte-order mark, but {not_utf8}"), False
    if strict is not None:
        # Before any declaration: pages saved again as UTF-8 keep their old `<meta charset>`
        # (23 of the 451 pages of ../shared's news corpora declare iso-8859-1 and are valid
        # UTF-8), while legacy text with non-ASCII bytes is practically never valid UTF-8.
        return strict, True
    declared = _declared_codec(data, config.declaration_bytes) if markup else None
    if declared is not None:
        codec, label = declared
        text = _within_limit(body, codec, config)
        if text is not None:
            return text, False
        not_utf8 += f"; declared {label!r} leaves too many invalid bytes"
    valid_non_ascii, invalid = _utf8_tally(body)
    if valid_non_ascii > invalid:  # UTF-8 with corrupt bytes: a legacy guess would be mojibake
        why = f"{not_utf8}: UTF-8 text with {invalid} invalid byte sequence(s)"
        return _lenient(body, "utf-8", config, why), False
    guessed = _guess_encoding(data, config.legacy_chaos_margin)
    if guessed is None:
        raise _Unreadable(
            UNDECODABLE,
            f"{not_utf8}, and no other encoding gives plausible text",
            _preview(body, "utf-8"),
        )
    return _lenient(data, guessed, config, f"{not_utf8}; guessed encoding {guessed}"), False


def _within_limit(data: bytes, codec: str, config: IngestConfig) -> str | None:
    """Decode with replacement markers, or None when too many bytes are replaced."""
    try:
        text = decode_marked(data, codec)
    except LookupError:
        return None
    if marked_bytes(text) > config.max_replaced_share * len(data):
        return None
    return text


def _lenient(data: bytes, codec: str, config: IngestConfig, why: str) -> str:
    """Decode with replacement markers; quarantine when too many bytes are replaced."""
    text = _within_limit(data, codec, config)
    if text is None:
        replaced = marked_bytes(decode_marked(data, codec))
        raise _Unreadable(
            UNDECODABLE,
            f"{why}: {replaced} of {len(data)} bytes would be replaced, above the "
            f"{config.max_replaced_share:.1%} limit (max_replaced_share)",
            _preview(data, codec),
        )
    return text


def _preview(data: bytes, codec: str) -> str:
    """Return the start of bytes decoded with replacement, for a quarantine record."""
    return mend(decode_marked(data[: PREVIEW_CHARS * 4], codec))[0][:PREVIEW_CHARS]


def _declared_codec(data: bytes, limit: int) -> tuple[str, str] | None:
    """Return the codec and label that a page's first bytes declare, if a known one.

    A `<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">` outside
    comments first, as the WHATWG prescan finds it; else an XML declaration's encoding.
    """
    head = data[:limit].decode("latin-1")
    found = _META_CHARSET.search(_COMMENT.sub("", head))
    if found is None:
        found = _XML_ENCODING.match(head)
    if found is None:
        return None
    label = found.group(1)
    codec = codec_for_label(label)
    return None if codec is None else (codec, label)


def _utf8_tally(data: bytes) -> tuple[int, int]:
    """Count valid non-ASCII characters and invalid sequences when reading bytes as UTF-8."""
    text = data.decode("utf-8", "replace")
    invalid = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return non_ascii - invalid, invalid


def _strict_decode(data: bytes, encoding: str, why: str) -> str:
    """Decode with one encoding, quarantining on the first invalid byte."""
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        try:
            preview: str | None = data[: PREVIEW_CHARS * 4].decode(encoding, "replace")
        except LookupError:
            preview = None
        raise _Unreadable(
            UNDECODABLE,
            f"{why}, but decoding fails{where}: {exc}",
            preview[:PREVIEW_CHARS] if preview is not None else None,
        ) from exc


def _guess_encoding(data: bytes, margin: float = 0.0) -> str | None:
    """Return charset-normalizer's best encoding, preferring cp1252 among equally clean ones.

    cp1252 as a browser decodes it (C1 gaps filled) also wins when its decoding is within
    `margin` of the best one's chaos.
    """
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.chaos <= best.chaos and _PREFERRED_LEGACY in match.could_be_from_charset:
            return _PREFERRED_LEGACY
    if margin > 0 and best.encoding != _PREFERRED_LEGACY:
        western = decode_marked(data, _PREFERRED_LEGACY)
        if not marked_bytes(western) and mess_ratio(western, 1.0) <= best.chaos + margin:
            return _PREFERRED_LEGACY
    return best.encoding


def _decode_nonblank(data: bytes, config: IngestConfig, markup: bool = False) -> str:
    """Decode a file (markers kept) and reject it when it holds only whitespace."""
    return _decode_valid_nonblank(data, config, markup)[0]


def _decode_valid_nonblank(
    data: bytes, config: IngestConfig, markup: bool = False
) -> tuple[str, bool]:
    """Decode a file as `_decode_valid` does; reject it when it holds only whitespace."""
    text, valid = _decode_valid(data, config, markup)
    # `isspace` is what `strip` strips, and stops at the first other character, where
    # `strip` copied the text (its final newline)
    if not text or text.isspace():
        raise _Unreadable(EMPTY, "file holds only whitespace")
    return text, valid
