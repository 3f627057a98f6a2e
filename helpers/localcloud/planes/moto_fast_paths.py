"""Faster paths through moto 5.2.5 (pinned) for the local cloud's hot calls: same answers, less CPU.

Not an AWS behaviour: a plane that serves no request and, when the server builds it, replaces a
few of moto's functions by equivalents that do the same work without repeating it. Each was
found by profiling the stream pipeline at full scale (``benchmarks/full_pipeline.py``); each
returns exactly what moto's own function returns (``tests/unit/test_moto_fast_paths.py`` checks
them against the originals):

- ``backends.list_of_moto_modules``: moto lists its package directory (``os.listdir`` plus an
  ``isdir`` per entry, ~150 system calls) on *every* request it dispatches, under the
  dispatcher's lock. The directory does not change while the server runs: listed once.
- ``core.responses.method_names_from_class``: to check that an action is one of a service's
  methods, moto lists every member of the service's response class (``inspect.getmembers``) on
  every request it dispatches. The classes do not change while the server runs: listed once each.
- ``kinesis.models.Shard.get_max_sequence_number``: ``list(self.records.keys())[-1]`` copies the
  whole shard for every record put, quadratic in the shard's length (a shard of 270,000 records
  copies 270,000 keys per record). The last key of the dict is read directly.
- ``dynamodb.models.dynamo_type.DynamoType.size``: for a map, moto wraps every value in a new
  ``DynamoType`` (rebuilding the whole subtree) before sizing it; values already wrapped are
  sized as they are, in one function that looks at each value's type once.
- ``dynamodb.models.dynamo_type.DynamoType.__init__``: every value of every item written is
  wrapped, and moto's constructor builds two lists per value to read its one type and value, and
  calls two methods to test for a list or a map. The same attributes are set directly.
- ``dynamodb.models.dynamo_type.Item.__init__``: the 400 KB item limit was checked after each
  attribute, re-sizing every attribute stored so far (quadratic in the attribute count); it is
  checked once for the whole item. Sizes are never negative, so the whole is over the limit
  exactly when one of moto's partial sums was: the same ``ItemSizeTooLarge`` for the same items.
- ``core.serialize.BaseJSONSerializer._serialize_type_structure`` for DynamoDB's ``AttributeValue``
  (and Kinesis's ``PutRecordsResultEntry``, one per record put: 500 per PutRecords):
  moto serializes every structure by looking up each member of its model under several spellings;
  an AttributeValue has ten members and holds one, so an item of 500 values cost 5,000 lookups
  (a BatchGetItem of 25 invoices took 165 ms). An AttributeValue that is a plain dict whose keys
  are all member names is serialized through those members only, in the model's order, and a
  string (S, N) or boolean (BOOL, NULL) member is written as it is, as moto's serializer writes it.
- ``dynamodb.responses``: UpdateItem deep-copies the stored item before updating it, only to call
  its ``to_json()``, which builds a new, independent structure anyway: twice the copying of an
  item that grows with every update (a customer item holds one summary per invoice: 21 ms per
  UpdateItem at 200 invoices, 14 ms without the copy). That module's only use of ``copy``
  (checked by the unit test) gets a ``deepcopy`` that returns the item itself.
- ``dynamodb.responses.DynamoHandler.update_item``: besides the copy above, moto builds the whole
  item's JSON before and after every UpdateItem, compares the two attribute by attribute, and
  deep-copies the item for DynamoDB Streams, whatever the request asks back. For a customer item
  of 200 invoice summaries that was two thirds of a 12 ms UpdateItem. When the request asks for
  nothing back (ReturnValues and ReturnValuesOnConditionCheckFailure NONE) and the table has no
  stream, nothing reads those snapshots, and the update runs without them (a thread-local flag
  read by the ``copy`` replacements of ``dynamodb.responses`` and ``dynamodb.models`` and by
  ``Item.to_json``): the same response, item and errors.
- ``dynamodb.models.dynamo_type.DynamoType.to_regular_json``: deep-copies the whole value, then
  rebuilds every nested value from the copy, so an item is copied once per level it is nested
  under. PutItem and UpdateItem build the item's JSON on every call (and then drop it unless
  ReturnValues asks for it): a customer item holding hundreds of invoice summaries was copied
  several times per UpdateItem. The same JSON is built in one pass; immutable leaves are shared,
  as ``deepcopy`` shares them.
- ``core.parse.BaseJSONParser._parse_structure`` for DynamoDB's ``AttributeValue``: moto parses
  each request against the service model, and for every AttributeValue looks up all ten members
  to find the one present. For the JSON protocol that walk changes nothing but binaries (base64
  decoded) and null or unknown members (dropped): an AttributeValue without those is taken as the
  JSON says, and one with a binary is parsed through its one member.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from helpers.localcloud.plane import Context, DataPlane

ITEM_SIZE_LIMIT = 405000  # moto's own figure (between the 409 and 410 KB it measured on AWS)
# Structures serialized by the fast path: member -> the type moto's serializer writes unchanged.
PLAIN_STRUCTURES = {
    "AttributeValue": {"S": str, "N": str, "BOOL": bool, "NULL": bool},  # every DynamoDB value
    "PutRecordsResultEntry": {"SequenceNumber": str, "ShardId": str, "ErrorCode": str, "ErrorMessage": str},  # per record
}
# Members the JSON parser returns as they are (strings and booleans), and string and number sets.
PLAIN_MEMBERS = {"S", "N", "BOOL", "NULL"}
PLAIN_SETS = {"SS", "NS"}
IMMUTABLE_LEAVES = {str, bytes, bool, int, float, type(None)}  # deepcopy returns these themselves


def _dynamo_type_size(self: Any) -> int:
    from moto.dynamodb.models.dynamo_type import DynamoType

    def size(value: Any) -> int:  # moto's DynamoType.size, dispatching on the type name once
        kind, inner = value.type, value.value
        if kind == "S" and type(inner) is str:
            return len(inner.encode("utf-8"))
        if kind == "N":
            return len(str(inner))
        if kind == "M":
            return sum(
                len(key.encode("utf-8")) + size(nested if type(nested) is DynamoType else DynamoType(nested))
                for key, nested in inner.items()
            )
        if kind == "L":
            return sum(size(nested) if type(nested) is DynamoType else nested.size() for nested in inner)
        if kind in ("SS", "NS", "BS"):
            return sum(DynamoType({kind[0]: member}).size() for member in inner)
        if isinstance(inner, bool):
            return 1
        return len(inner if isinstance(inner, bytes) else inner.encode("utf-8"))

    return size(self)


def _dynamo_type_init(self: Any, type_as_dict: Any) -> None:
    DynamoType = type(self)  # moto has no subclass of it; no import on a path run per value

    if type(type_as_dict) is DynamoType:
        kind, value = type_as_dict.type, type_as_dict.value
    else:
        try:
            kind, value = next(iter(type_as_dict.items()))
        except StopIteration:
            raise IndexError("list index out of range") from None  # what moto's list(...)[0] raises
    self.type = kind
    if kind == "L":
        value = [DynamoType(nested) for nested in value]
    elif kind == "M":
        value = {key: DynamoType(nested) for key, nested in value.items()}
    self.value = value


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(str(key)) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(values)  # dict.update: no per-attribute check, done above


def _fast_json_structure(original: Any) -> Any:
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        scalars = PLAIN_STRUCTURES.get(shape.name)
        if key and scalars is not None and type(value) is dict and value.keys() <= shape.members.keys():
            wrapper = self.MAP_TYPE()
            for member_key, member_shape in shape.members.items():
                member = value.get(member_key)
                if member is None:
                    continue
                if type(member) is scalars.get(member_key):
                    wrapper[member_key] = member  # what the string and boolean serializers write
                    continue
                member_shape.parent = shape
                self._serialize_structure_member(wrapper, value, member_shape, member_key)
            self._default_serialize(serialized, wrapper, shape, key)
            return
        original(self, serialized, value, shape, key)

    serialize_structure._attribute_values_fast = True  # type: ignore[attr-defined]
    return serialize_structure


def _to_regular_json(self: Any) -> dict[str, Any]:
    import base64
    import copy

    from moto.dynamodb.models.dynamo_type import DynamoType

    def regular(value: Any) -> Any:  # what moto's deepcopy-then-convert gives for one child
        if isinstance(value, DynamoType):
            return value.to_regular_json()
        return value if type(value) in IMMUTABLE_LEAVES else copy.deepcopy(value)

    value = self.value
    if isinstance(value, dict):
        value = {key: regular(nested) for key, nested in value.items()}
    elif isinstance(value, list):
        value = [regular(nested) for nested in value]
    elif type(value) not in IMMUTABLE_LEAVES:
        value = copy.deepcopy(value)
    if self.is_binary() and isinstance(value, str):
        value = base64.b64decode(value)
    return {self.type: value}


class _NotPlain(Exception):
    """An AttributeValue that the generic parse must see (a binary, a null member, a stray key)."""


def _plain_attribute_value(value: Any) -> Any:
    """An AttributeValue without binaries, as moto's JSON parser returns it: the JSON itself, in
    new containers (the parser only decodes blobs and drops null or unknown members)."""
    if value is None:
        return None
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    ((key, raw),) = value.items()
    if raw is None:
        raise _NotPlain
    if key in PLAIN_MEMBERS:
        return {key: raw}
    if key == "M" and type(raw) is dict:
        return {"M": {name: _plain_attribute_value(nested) for name, nested in raw.items()}}
    if key == "L" and type(raw) is list:
        return {"L": [_plain_attribute_value(nested) for nested in raw]}
    if key in PLAIN_SETS and type(raw) is list:
        return {key: list(raw)}
    raise _NotPlain


def _fast_json_parse_structure(original: Any) -> Any:
    def parse_structure(self: Any, shape: Any, value: Any) -> Any:
        if shape.name == "AttributeValue" and self.MAP_TYPE is dict:
            try:
                return _plain_attribute_value(value)
            except _NotPlain:
                pass
            if type(value) is dict and len(value) == 1:  # a binary: through its one member
                ((key, raw),) = value.items()
                member = shape.members.get(key)
                if member is not None and raw is not None and member.serialization.get("name", key) == key:
                    return {key: self._parse_shape(member, raw)}
        return original(self, shape, value)

    parse_structure._attribute_values_fast = True  # type: ignore[attr-defined]
    return parse_structure


def _listed_once_per_class(original: Any) -> Any:
    listed = functools.lru_cache(maxsize=None)(lambda clazz: tuple(original(clazz)))
    method_names = functools.wraps(original)(lambda clazz: list(listed(clazz)))
    method_names._listed_once = True  # type: ignore[attr-defined]
    return method_names


def _max_sequence_number(self: Any) -> int:
    return next(reversed(self.records), 0)


class _UpdateWithoutSnapshots(threading.local):
    """Set while this thread runs an UpdateItem whose snapshots nobody reads."""

    active = False


_WITHOUT_SNAPSHOTS = _UpdateWithoutSnapshots()


class _NoSnapshot:
    @staticmethod
    def to_json(root_attr_name: str = "Attributes") -> dict[str, Any]:
        return {root_attr_name: {}}


class _ItemSnapshotByJson:
    """``copy`` for moto.dynamodb.responses: its one call, ``copy.deepcopy(stored item)``, is
    followed only by ``to_json()``, which copies; during an update without snapshots, an empty
    snapshot."""

    @staticmethod
    def deepcopy(item: Any, memo: Any = None) -> Any:
        return _NoSnapshot if _WITHOUT_SNAPSHOTS.active and item is not None else item


class _ModelsCopy:
    """``copy`` for moto.dynamodb.models: its ``deepcopy(item)`` in ``update_item`` only feeds
    the table's stream, which an update without snapshots does not have."""

    item_type: Any = None  # moto's Item, set by install(): not imported on every UpdateItem

    @classmethod
    def deepcopy(cls, value: Any, memo: Any = None) -> Any:
        if _WITHOUT_SNAPSHOTS.active and type(value) is cls.item_type:
            return value
        return copy.deepcopy(value, memo)


def _item_to_json(original: Any) -> Any:
    def to_json(self: Any, root_attr_name: str = "Attributes") -> dict[str, Any]:
        if _WITHOUT_SNAPSHOTS.active:
            return _NoSnapshot.to_json(root_attr_name)
        return original(self, root_attr_name)

    to_json._snapshots_skippable = True  # type: ignore[attr-defined]
    return to_json


def _update_item_without_snapshots(original: Any) -> Any:
    def update_item(self: Any) -> Any:
        body = self.body
        if body.get("ReturnValues", "NONE") != "NONE" or body.get("ReturnValuesOnConditionCheckFailure", "NONE") != "NONE":
            return original(self)
        try:
            streamed = self.dynamodb_backend.get_table(body.get("TableName")).stream_shard is not None
        except Exception:  # moto's own update_item reports the missing table
            return original(self)
        if streamed:
            return original(self)
        _WITHOUT_SNAPSHOTS.active = True
        try:
            return original(self)
        finally:
            _WITHOUT_SNAPSHOTS.active = False

    update_item._snapshots_skippable = True  # type: ignore[attr-defined]
    return update_item


def install() -> None:
    """Replace moto's slow functions by the equivalents above (idempotent)."""
    from moto import backends
    from moto.core import parse, serialize
    from moto.core import responses as core_responses
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb import responses as dynamodb_responses
    from moto.dynamodb.models import dynamo_type
    from moto.kinesis import models as kinesis_models

    if not getattr(backends.list_of_moto_modules, "_listed_once", False):
        listed = tuple(backends.list_of_moto_modules())
        cached = functools.wraps(backends.list_of_moto_modules)(lambda: listed)
        cached._listed_once = True  # type: ignore[attr-defined]
        backends.list_of_moto_modules = cached
    if not getattr(core_responses.method_names_from_class, "_listed_once", False):
        core_responses.method_names_from_class = _listed_once_per_class(core_responses.method_names_from_class)
    kinesis_models.Shard.get_max_sequence_number = _max_sequence_number
    dynamo_type.DynamoType.__init__ = _dynamo_type_init
    dynamo_type.DynamoType.size = _dynamo_type_size
    dynamo_type.Item.__init__ = _item_init
    dynamo_type.DynamoType.to_regular_json = _to_regular_json
    dynamodb_responses.copy = _ItemSnapshotByJson  # type: ignore[assignment]
    _ModelsCopy.item_type = dynamo_type.Item
    dynamodb_models.copy = _ModelsCopy  # type: ignore[assignment]
    if not getattr(dynamo_type.Item.to_json, "_snapshots_skippable", False):
        dynamo_type.Item.to_json = _item_to_json(dynamo_type.Item.to_json)
    handler = dynamodb_responses.DynamoHandler
    if not getattr(handler.update_item, "_snapshots_skippable", False):
        handler.update_item = _update_item_without_snapshots(handler.update_item)
    json_parser = parse.BaseJSONParser
    if not getattr(json_parser._parse_structure, "_attribute_values_fast", False):
        json_parser._parse_structure = _fast_json_parse_structure(json_parser._parse_structure)
    json_serializer = serialize.BaseJSONSerializer
    if not getattr(json_serializer._serialize_type_structure, "_attribute_values_fast", False):
        json_serializer._serialize_type_structure = _fast_json_structure(json_serializer._serialize_type_structure)


class MotoFastPaths(DataPlane):
    name = "moto-fast-paths"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        install()
