"""Encoding labels as the WHATWG Encoding Standard reads them, and browser-like byte decoding.

A page's declared label names the decoder a browser uses, not always the Python codec of the
same name: `iso-8859-1`, `latin1` and `ascii` mean windows-1252, `iso-8859-9` means
windows-1254, `shift_jis` means windows-31j, `euc-kr` means windows-949, `gb2312` means GBK.
The windows-125x code pages leave some bytes of 0x80-0x9F undefined in Python (cp1252: 0x81,
0x8D, 0x8F, 0x90, 0x9D); browsers map them to the C1 control of the same number, and so does
`decode_marked`.

`decode_marked` replaces each invalid byte sequence by one marker character, a lone surrogate
U+DC01..U+DCFF whose low byte is the sequence's length, so that callers can count the replaced
bytes of each part of a file (a JSON line, a record) before `mend` turns the markers into
U+FFFD. No decoder here produces lone surrogates otherwise.
"""

from __future__ import annotations

import codecs
import re
from functools import cache

# WHATWG label -> Python codec. Labels not listed fall back to Python's own lookup.
_LABELS: dict[str, tuple[str, ...]] = {
    "utf-8": (
        "unicode-1-1-utf-8",
        "unicode11utf8",
        "unicode20utf8",
        "utf-8",
        "utf8",
        "x-unicode20utf8",
        # a UTF-16 label in a byte stream's own <meta> is read as UTF-8 (HTML prescan rule)
        "utf-16",
        "utf-16le",
        "utf-16be",
        "csunicode",
        "iso-10646-ucs-2",
        "ucs-2",
        "unicode",
        "unicodefeff",
        "unicodefffe",
    ),
    "cp1252": (
        "ansi_x3.4-1968",
        "ascii",
        "cp1252",
        "cp819",
        "csisolatin1",
        "ibm819",
        "iso-8859-1",
        "iso-ir-100",
        "iso8859-1",
        "iso88591",
        "iso_8859-1",
        "iso_8859-1:1987",
        "l1",
        "latin1",
        "latin-1",
        "us-ascii",
        "windows-1252",
        "x-cp1252",
    ),
    "cp1254": (
        "cp1254",
        "csisolatin5",
        "iso-8859-9",
        "iso-ir-148",
        "iso8859-9",
        "iso88599",
        "iso_8859-9",
        "iso_8859-9:1989",
        "l5",
        "latin5",
        "windows-1254",
        "x-cp1254",
    ),
    "cp874": (
        "dos-874",
        "iso-8859-11",
        "iso8859-11",
        "iso885911",
        "tis-620",
        "windows-874",
    ),
    "gbk": (
        "chinese",
        "csgb2312",
        "csiso58gb231280",
        "gb2312",
        "gb_2312",
        "gb_2312-80",
        "gbk",
        "iso-ir-58",
        "x-gbk",
    ),
    "gb18030": ("gb18030",),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "cp932": (
        "csshiftjis",
        "ms932",
        "ms_kanji",
        "shift-jis",
        "shift_jis",
        "sjis",
        "windows-31j",
        "x-sjis",
    ),
    "cp949": (
        "cseuckr",
        "csksc56011987",
        "euc-kr",
        "iso-ir-149",
        "korean",
        "ks_c_5601-1987",
        "ks_c_5601-1989",
        "ksc5601",
        "ksc_5601",
        "windows-949",
    ),
    "euc_jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "mac_roman": ("csmacintosh", "mac", "macintosh", "x-mac-roman"),
    "mac_cyrillic": ("x-mac-cyrillic", "x-mac-ukrainian"),
    "cp866": ("866", "cp866", "csibm866", "ibm866"),
    "koi8_u": ("koi8-ru", "koi8-u"),
}
_BY_LABEL = {label: codec for codec, labels in _LABELS.items() for label in labels}
# Labels of the WHATWG "replacement" decoder (and x-user-defined): no text decoder to honour.
_REFUSED = frozenset(
    {"csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement"}
    | {"x-user-defined"}
)
# Python codecs read as their WHATWG superset (a guess by charset-normalizer names codecs).
_SUPERSETS = {"latin_1": "cp1252", "iso8859_1": "cp1252", "ascii": "cp1252", "iso8859_9": "cp1254"}
# Single-byte code pages whose undefined bytes 0x80-0x9F a browser decodes as C1 controls.
_C1_FILLED = frozenset(
    {"cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258"}
    | {"cp874"}
)

MARK = "newsdq-mark"  # the error handler that writes markers
_MARK_BASE = 0xDC00
_MARKS = re.compile("[\udc01-\udcff]")
_UNDEFINED = "\ufffe"  # charmap_decode's "no character" in a decoding table


def _mark(exc: UnicodeError) -> tuple[str, int]:
    """Replace an invalid byte sequence by markers carrying its length."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    n = exc.end - exc.start
    marks = chr(_MARK_BASE + 255) * (n // 255) + (chr(_MARK_BASE + n % 255) if n % 255 else "")
    return marks, exc.end


codecs.register_error(MARK, _mark)


def codec_for_label(label: str) -> str | None:
    """Return the Python codec a browser's decoder for a declared label matches, or None.

    Labels are matched as the Encoding Standard does: trimmed, case-insensitive. An unknown
    label is tried as a Python codec name; a label of no text decoder gives None.
    """
    key = label.strip().strip("\"'").lower()
    if not key or key in _REFUSED:
        return None
    if key in _BY_LABEL:
        return _BY_LABEL[key]
    try:
        name = codecs.lookup(key).name
    except LookupError:
        return None
    if name in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        return "utf-8"  # as above: a byte stream declaring UTF-16 in itself is not UTF-16
    return browser_codec(name)


def browser_codec(codec: str) -> str:
    """Return the codec a browser uses for a Python codec name (latin-1 -> cp1252, ...)."""
    name = codecs.lookup(codec).name.replace("-", "_")
    return _SUPERSETS.get(name, name)


@cache
def _table(codec: str) -> str | None:
    """Return a 256-character decoding table of a single-byte code page, C1 gaps filled."""
    if codec not in _C1_FILLED:
        return None
    chars = []
    for byte in range(256):
        char = bytes([byte]).decode(codec, "ignore")
        chars.append(char or (chr(byte) if 0x80 <= byte <= 0x9F else _UNDEFINED))
    return "".join(chars)


def decode_marked(data: bytes, codec: str) -> str:
    """Decode bytes as a browser would, with a marker for each invalid byte sequence."""
    name = browser_codec(codec)
    table = _table(name)
    if table is not None:
        return codecs.charmap_decode(data, MARK, table)[0]
    return data.decode(name, MARK)


def marked_bytes(text: str) -> int:
    """Count the bytes that markers in `text` stand for."""
    if text.isascii():  # known in constant time; markers are not ASCII
        return 0
    return sum(ord(m) - _MARK_BASE for m in _MARKS.findall(text))


def mend(text: str) -> tuple[str, int]:
    """Return `text` with each marker turned into U+FFFD, and the count of bytes replaced."""
    n = marked_bytes(text)
    return (_MARKS.sub("\ufffd", text) if n else text), n
