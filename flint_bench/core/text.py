"""Text from devices and hubs made safe to print and to store: terminal control stripped, long
values cut with an ellipsis, and secrets redacted in every form they travel in (raw, base64 of
`user:key` as in the Basic Authorization header, URL-encoded, JSON-escaped)."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

DEVICE_TEXT_LIMIT = 200  # a device attribute (model, SoC, serial, ...)
MESSAGE_LIMIT = 4000  # an error message, which may carry a few lines of a device's stack trace

# ESC sequences first (CSI, OSC up to BEL or ST, two-byte), so their printable tails go with them
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])")
# C0, DEL, C1, and the invisible bidi/zero-width marks that can disguise what a terminal shows
_INVISIBLE = "\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\x00-\x1f{_INVISIBLE}]+")
_KEEP_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_INVISIBLE}]+")  # keeps tab and newline


def terminal_safe(text: object, limit: int = DEVICE_TEXT_LIMIT, keep_lines: bool = False) -> str:
    """`text` without control characters (one line, unless `keep_lines` keeps newlines and tabs),
    at most `limit` characters, the cut marked with an ellipsis."""
    s = _ESCAPES.sub("", str(text))
    s = _KEEP_LINES.sub("", s) if keep_lines else _ONE_LINE.sub(" ", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _forms(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        urllib.parse.quote(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    }
    forms |= {f.rstrip("=") for f in forms}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}
    return {f for f in forms if f}


class Redactor:
    """Replaces every known form of each secret, and of `user:key` pairs, by ***."""

    def __init__(self, secrets: Iterable[str | None] = (), pairs: Iterable[tuple[str | None, str | None]] = ()):
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _forms(secret)
        for user, key in pairs:
            if user and key:
                forms |= _forms(f"{user}:{key}")
        # longest first, so a form is never half-replaced by a shorter one inside it
        self._pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))) if forms else None

    def __call__(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub("***", text)

    def tree(self, value: Any) -> Any:
        """A JSON-like value with every string redacted."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        return value


def shorten(text: str, width: int = 200) -> str:
    """The first line of `text`, cut at a word boundary with an ellipsis when longer than `width`."""
    line = (text.splitlines() or [""])[0]
    if len(line) <= width:
        return line
    cut = line[: width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut).rstrip(" ,;:.") + "…"
