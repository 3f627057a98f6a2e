"""A crawler S3 target's ``Exclusions``: glob patterns, relative to the include path.

https://docs.aws.amazon.com/glue/latest/dg/define-crawler-choose-data-sources.html ("Include and
exclude patterns"): ``*`` matches within one folder level, ``**`` across levels, ``?`` one
character, ``[abc]`` / ``[!abc]`` a character class, ``{a,b}`` alternatives and ``\\`` escapes the
next character. ``*.csv`` excludes the CSV objects of the include path's own folder,
``departments/**`` everything under ``departments/``.
"""

from __future__ import annotations

import re


class InvalidPattern(ValueError):
    pass


def glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    index, in_group = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        if char == "*":
            if pattern.startswith("**", index):
                out.append(".*")
                index += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                raise InvalidPattern(f"unclosed [ in exclude pattern {pattern!r}")
            body = pattern[index + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            index = end + 1
            continue
        elif char == "{" and not in_group:
            out.append("(?:")
            in_group = True
        elif char == "}" and in_group:
            out.append(")")
            in_group = False
        elif char == "," and in_group:
            out.append("|")
        else:
            out.append(re.escape(char))
        index += 1
    if in_group:
        raise InvalidPattern(f"unclosed {{ in exclude pattern {pattern!r}")
    return re.compile("".join(out))


class Exclusions:
    def __init__(self, patterns: list[str]) -> None:
        self._patterns = [glob_regex(pattern) for pattern in patterns]

    def excludes(self, relative_key: str) -> bool:
        return any(pattern.fullmatch(relative_key) for pattern in self._patterns)
