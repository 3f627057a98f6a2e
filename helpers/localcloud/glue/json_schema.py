"""The built-in JSON classifier: a file of JSON records (one per line, or concatenated) or one array.

https://docs.aws.amazon.com/glue/latest/dg/add-classifier.html (built-in classifiers: JSON "reads
the beginning of the file to determine format"); the knowledge-center article "How does the AWS
Glue crawler detect the schema?" says it reads the first megabyte, and up to 10 MB, a megabyte at a
time, until it finds a valid record. Column names are lowercased, as the Data Catalog keeps them;
the JSON SerDe's ``paths`` parameter lists the record keys as they are written. A file holding one
top-level array becomes a single column named ``array`` (the built-in classifier does not look
inside it; a custom classifier with ``$[*]`` would).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from helpers.localcloud.glue.glue_types import Schema, of_json

_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class JsonSample:
    schema: Schema
    records: int
    sample_bytes: int  # bytes of the sample that the records filled
    paths: tuple[str, ...]  # the record keys, as written


def infer(text: str) -> JsonSample | None:
    """The schema of the records at the start of ``text``, or None if it is not JSON records."""
    schema, keys = Schema(), {}
    records, position, end_of_last = 0, 0, 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        try:
            value, position = _DECODER.raw_decode(text, position)
        except ValueError:
            if records == 0:
                return None
            break  # a record cut by the end of the sample, or garbage after valid records
        if isinstance(value, list) and records == 0:
            value = {"array": value}
        elif not isinstance(value, dict):
            return None if records == 0 else _sample(schema, records, text[:end_of_last], keys)
        for key, item in value.items():
            schema.add(key.lower(), of_json(item))
            keys.setdefault(key, None)
        records, end_of_last = records + 1, position
    return _sample(schema, records, text[:end_of_last], keys) if records else None


def _sample(schema: Schema, records: int, used: str, keys: dict[str, None]) -> JsonSample:
    return JsonSample(schema, records, len(used.encode("utf-8")), tuple(sorted(keys)))
