"""The S3 keys Firehose writes: data objects, and the manifests of a Redshift destination.

"When Firehose delivers data to Amazon S3, S3 object key name follows the format
<evaluated prefix><suffix>, where the suffix has the format <Firehose stream name>-<Firehose stream
version>-<year>-<month>-<day>-<hour>-<minute>-<second>-<uuid><file extension>"; without a custom
prefix the evaluated prefix is the UTC time ``YYYY/MM/dd/HH/``; a prefix without expressions gets
that time appended as is (``raw/`` becomes ``raw/2024/01/02/03/``, and ``raw`` becomes
``raw2024/01/02/03/``: nothing is inserted); a prefix with ``!{timestamp:...}`` or
``!{firehose:random-string}`` expressions is evaluated instead. Times are those of the oldest
record in the object. https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html,
https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html

For a Redshift destination Firehose also writes, in the intermediate bucket, the manifest of each
COPY under ``manifests/`` and, for the objects it gives up on after the retry duration, a manifest
under ``errors/`` ("The skipped objects' information is delivered to your S3 bucket as a manifest
file in the errors/ folder", basic-deliver.html#retry); both follow the S3 configuration's Prefix,
the error manifests its ErrorOutputPrefix when one is set (``<ErrorOutputPrefix>manifests/...``).
These two layouts are the local cloud's reading of the documentation, which does not spell out
how the prefixes combine.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
import uuid

_EXPRESSION = re.compile(r"!\{([a-zA-Z]+):([^}]*)\}")
# Java DateTimeFormatter letters that !{timestamp:...} patterns use, as strftime directives.
_JAVA_PATTERN = re.compile(r"'[^']*'|yyyy|yy|MM|dd|HH|mm|ss|.")
_JAVA_TO_STRFTIME = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
SUPPORTED_NAMESPACES = ("timestamp", "firehose")
RANDOM_STRING_LENGTH = 11


class PrefixError(ValueError):
    """A prefix expression the local cloud cannot evaluate (the message says which)."""


def check_prefix(prefix: str | None) -> None:
    """Refuse, at CreateDeliveryStream, expressions that could never be evaluated."""
    for namespace, value in _EXPRESSION.findall(prefix or ""):
        if namespace not in SUPPORTED_NAMESPACES:
            raise PrefixError(
                f"The prefix expression !{{{namespace}:{value}}} needs dynamic partitioning, which the local cloud "
                "does not support; use !{timestamp:...} and !{firehose:random-string} expressions."
            )
        if namespace == "firehose" and value not in ("random-string", "error-output-type"):
            raise PrefixError(f"Unknown expression !{{firehose:{value}}}: use random-string or error-output-type.")


def _java_time(pattern: str, when: dt.datetime) -> str:
    out = []
    for token in _JAVA_PATTERN.findall(pattern):
        if token.startswith("'"):
            out.append(token[1:-1])
        else:
            out.append(when.strftime(_JAVA_TO_STRFTIME[token]) if token in _JAVA_TO_STRFTIME else token)
    return "".join(out)


def evaluate_prefix(prefix: str | None, when: dt.datetime, error_output_type: str | None = None) -> str:
    """The evaluated prefix of an object whose oldest record arrived at ``when`` (UTC)."""
    hour_path = when.strftime("%Y/%m/%d/%H/")
    if not prefix:
        return hour_path
    if not _EXPRESSION.search(prefix):
        return prefix + hour_path

    def evaluate(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return _java_time(value, when)
        if value == "random-string":
            return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(RANDOM_STRING_LENGTH))
        return error_output_type or ""

    return _EXPRESSION.sub(evaluate, prefix)


def object_name(stream_name: str, version: str, when: dt.datetime, extension: str = "") -> str:
    """``<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>``."""
    return f"{stream_name}-{version}-{when.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}{extension}"


def data_key(prefix: str | None, stream_name: str, version: str, when: dt.datetime, extension: str = "") -> str:
    return evaluate_prefix(prefix, when) + object_name(stream_name, version, when, extension)


def manifest_key(prefix: str | None, stream_name: str, version: str, when: dt.datetime) -> str:
    return _static_part(prefix, when) + "manifests/" + when.strftime("%Y/%m/%d/%H/") + object_name(stream_name, version, when)


def error_manifest_key(error_prefix: str | None, prefix: str | None, stream_name: str, version: str, when: dt.datetime) -> str:
    if not error_prefix:
        base = _static_part(prefix, when) + "errors/"
    elif _EXPRESSION.search(error_prefix):
        base = evaluate_prefix(error_prefix, when, error_output_type="manifests")
    else:
        base = error_prefix  # a plain ErrorOutputPrefix is the errors folder itself
    return base + "manifests/" + when.strftime("%Y/%m/%d/%H/") + object_name(stream_name, version, when)


def _static_part(prefix: str | None, when: dt.datetime) -> str:
    """The Prefix as a folder for manifests: evaluated if it has expressions, else as written."""
    if not prefix:
        return ""
    return evaluate_prefix(prefix, when) if _EXPRESSION.search(prefix) else prefix
