"""The local cloud's faster paths through moto give exactly what moto's own functions give.

``helpers.localcloud.planes.moto_fast_paths`` replaces a few of moto's functions in the server
process; here each replacement is compared with the original it replaces, on values that cover
every DynamoDB attribute type, without installing anything in this process.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from moto import backends
from moto.core import serialize
from moto.core.utils import get_service_model
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.kinesis.models import Shard

from helpers.localcloud.planes import moto_fast_paths as fast

ORIGINAL_SIZE = DynamoType.size
ORIGINAL_TYPE_INIT = DynamoType.__init__
ORIGINAL_ITEM_INIT = Item.__init__
ORIGINAL_STRUCTURE = serialize.BaseJSONSerializer._serialize_type_structure

LINE = {"M": {"Description": {"S": "WHITE HANGING HEART T-LIGHT HOLDER "}, "Quantity": {"N": "-6"}, "UnitPrice": {"N": "2.55"},
              "InvoiceDate": {"S": "2010-12-01 08:26:00"}, "CustomerID": {"NULL": True}}}  # fmt: skip
VALUES = [
    {"S": "Fête"},
    {"S": ""},
    {"S": True},  # not valid DynamoDB, but moto writes "True": so must the fast path
    {"N": "123.456"},
    {"B": base64.b64encode(b"\x00\xff binary").decode()},
    {"B": b"\x00\xff raw bytes"},
    {"SS": ["a", "bé"]},
    {"NS": ["1", "2.5"]},
    {"BS": [b"\x01", b"\x02\x03"]},
    {"BOOL": True},
    {"BOOL": False},
    {"NULL": True},
    {"L": [{"S": "x"}, {"N": "1"}, {"L": []}, {"M": {}}]},
    {"M": {"85123A": {"M": {"file.csv:1": LINE, "file.csv:2": LINE}}, "empty": {"M": {}}}},
]


def setup_module() -> None:
    assert DynamoType.size is not fast._dynamo_type_size, "compare with moto's own functions: nothing may be installed here"


@pytest.mark.parametrize("value", VALUES, ids=lambda v: next(iter(v)))
def test_attribute_sizes_are_moto_s(value):
    assert fast._dynamo_type_size(DynamoType(value)) == ORIGINAL_SIZE(DynamoType(value))


def tree(value):
    """A DynamoType as plain data: its type, and its value with every nested DynamoType opened."""
    inner = value.value
    if isinstance(inner, dict):
        inner = {key: tree(nested) if isinstance(nested, DynamoType) else ("raw", nested) for key, nested in inner.items()}
    elif isinstance(inner, list):
        inner = [tree(nested) if isinstance(nested, DynamoType) else ("raw", nested) for nested in inner]
    return (type(value), value.type, inner)


@pytest.mark.parametrize("value", VALUES, ids=lambda v: next(iter(v)))
def test_values_are_wrapped_as_moto_wraps_them(value):
    ours, theirs = DynamoType.__new__(DynamoType), DynamoType.__new__(DynamoType)
    fast._dynamo_type_init(ours, value)
    ORIGINAL_TYPE_INIT(theirs, value)
    assert tree(ours) == tree(theirs)
    ours_again, theirs_again = DynamoType.__new__(DynamoType), DynamoType.__new__(DynamoType)  # from a DynamoType
    fast._dynamo_type_init(ours_again, theirs)
    ORIGINAL_TYPE_INIT(theirs_again, theirs)
    assert tree(ours_again) == tree(theirs_again) == tree(theirs)
    assert (ours_again.value is theirs.value) == (theirs_again.value is theirs.value)  # shared exactly when moto shares


def test_an_empty_value_fails_as_in_moto():
    for init in (fast._dynamo_type_init, ORIGINAL_TYPE_INIT):
        with pytest.raises(IndexError):
            init(DynamoType.__new__(DynamoType), {})


def attrs_of(count: int, text: str = "x") -> dict:
    return {"InvoiceNo": {"S": "600001"}, **{f"code{i}": {"M": {"file.csv:1": LINE, "note": {"S": text}}} for i in range(count)}}


@pytest.mark.parametrize("count", [0, 1, 30])
def test_items_are_built_as_moto_builds_them(count):
    key = DynamoType({"S": "600001"})
    ours, theirs = Item.__new__(Item), Item.__new__(Item)
    fast._item_init(ours, key, None, attrs_of(count))
    ORIGINAL_ITEM_INIT(theirs, key, None, attrs_of(count))
    assert type(ours.attrs) is type(theirs.attrs)
    assert ours.to_json() == theirs.to_json() and ours.hash_key == theirs.hash_key and ours.range_key is None


@pytest.mark.parametrize("size", [404_000, 406_000])
def test_the_item_size_limit_is_moto_s(size):
    """moto's limit is 405,000 bytes of names and values; just under it passes, just over fails."""
    attrs = {"InvoiceNo": {"S": "600001"}, "big": {"S": "x" * (size - len("InvoiceNo") - 6 - len("big"))}}
    outcomes = []
    for init in (fast._item_init, ORIGINAL_ITEM_INIT):
        try:
            init(Item.__new__(Item), DynamoType({"S": "600001"}), None, attrs)
            outcomes.append("stored")
        except ItemSizeTooLarge:
            outcomes.append("too large")
    assert outcomes[0] == outcomes[1] == ("stored" if size < 405_000 else "too large")


def test_the_last_sequence_number_is_moto_s():
    shard = Shard.__new__(Shard)
    shard.records = {}
    assert fast._max_sequence_number(shard) == Shard.get_max_sequence_number(shard) == 0
    shard.records = {number: object() for number in range(1, 1001)}
    assert fast._max_sequence_number(shard) == Shard.get_max_sequence_number(shard) == 1000


def test_moto_modules_are_listed_as_moto_lists_them():
    assert "dynamodb" in list(backends.list_of_moto_modules())  # the original, not installed here


def serialized(operation: str, result: dict, structure, service: str = "dynamodb") -> dict:
    class Serializer(serialize.JSONSerializer):
        _serialize_type_structure = structure

    operation_model = get_service_model(service).operation_model(operation)
    body = Serializer(operation_model=operation_model, value_picker=serialize.XFormedAttributePicker()).serialize(result)["body"]
    return json.loads(body)


@pytest.mark.parametrize("value", VALUES, ids=lambda v: next(iter(v)))
def test_items_are_serialized_as_moto_serializes_them(value):
    item = {"InvoiceNo": {"S": "600001"}, "Version": {"N": "3"}, "value": value}
    result = {"Item": item, "ConsumedCapacity": {"TableName": "invoice", "CapacityUnits": Decimal("0.5")}}
    assert serialized("GetItem", result, fast._fast_json_structure(ORIGINAL_STRUCTURE)) == serialized("GetItem", result, ORIGINAL_STRUCTURE)
    batch = {"Responses": {"invoice": [item, {"InvoiceNo": {"S": "600002"}}]}, "UnprocessedKeys": {}}
    assert serialized("BatchGetItem", batch, fast._fast_json_structure(ORIGINAL_STRUCTURE)) == serialized("BatchGetItem", batch, ORIGINAL_STRUCTURE)


def test_dynamodb_responses_copies_only_to_take_a_json_snapshot():
    """The ``copy`` replacement in moto.dynamodb.responses is safe only while its one use is
    ``existing_item = copy.deepcopy(...)`` followed by nothing but ``existing_item.to_json()``."""
    import inspect

    from moto.dynamodb import responses

    source = inspect.getsource(responses)
    assert source.count("copy.") == 1 and "existing_item = copy.deepcopy(self.dynamodb_backend.get_item(name, key))" in source
    after = source.split("existing_item = copy.deepcopy(", 1)[1].split("def ", 1)[0]
    assert [line.strip() for line in after.splitlines() if "existing_item" in line] == [
        "if existing_item:", 'existing_attributes = existing_item.to_json()["Attributes"]'
    ]
    item = Item(DynamoType({"S": "c1"}), None, {"CustomerID": {"S": "c1"}, "600001": {"M": {"Total": {"N": "1.5"}}}})
    snapshot = fast._ItemSnapshotByJson.deepcopy(item).to_json()
    item.attrs["600001"].value["Total"] = DynamoType({"N": "9"})
    assert snapshot["Attributes"]["600001"] == {"M": {"Total": {"N": "1.5"}}}  # to_json copied


@pytest.mark.parametrize("value", VALUES, ids=lambda v: next(iter(v)))
def test_regular_json_is_moto_s(value, monkeypatch):
    original = DynamoType(value).to_regular_json()
    monkeypatch.setattr(DynamoType, "to_regular_json", fast._to_regular_json)  # nested values too
    stored = DynamoType(value)
    regular = stored.to_regular_json()
    assert regular == original
    if isinstance(stored.value, (dict, list)):  # an independent copy, as moto's deepcopy gave
        stored.value.clear()
        assert regular == original


def parsed(operation: str, body: dict, structure) -> dict:
    from moto.core import parse

    class Parser(parse.JSONParser):
        _parse_structure = structure

    model = get_service_model("dynamodb").operation_model(operation)
    return Parser(model).parse({"method": "POST", "values": {}, "headers": {}, "body": json.dumps(body).encode(), "url_path": "/", "url_params": {}})


ORIGINAL_PARSE = __import__("moto.core.parse", fromlist=["BaseJSONParser"]).BaseJSONParser._parse_structure
JSON_VALUES = [v for v in VALUES if not any(isinstance(x, bytes) for x in (v.get("B"), *(v.get("BS") or [])))]
ODD_VALUES = [{"S": None}, {"S": "a", "N": "1"}, {"Unknown": "x"}, {}, {"BS": [base64.b64encode(b"\x01").decode()]},
              {"M": {"a": None, "b": {"S": None}}}, {"L": [None, {"N": "1", "S": "x"}]}, {"SS": [None, "a"]}, {"M": "not a map"},
              {"L": [{"M": {"bin": {"B": base64.b64encode(b"\x02").decode()}}}]}]  # fmt: skip


@pytest.mark.parametrize("value", JSON_VALUES + ODD_VALUES, ids=lambda v: ",".join(v) or "empty")
def test_requests_are_parsed_as_moto_parses_them(value):
    fast_structure = fast._fast_json_parse_structure(ORIGINAL_PARSE)
    requests = {
        "PutItem": {"TableName": "invoice", "Item": {"InvoiceNo": {"S": "600001"}, "value": value, "nested": {"M": {"v": value}}, "list": {"L": [value, value]}},
                    "ConditionExpression": "attribute_not_exists(InvoiceNo)", "ReturnValues": "NONE", "Ignored": None},
        "UpdateItem": {"TableName": "customer", "Key": {"CustomerID": {"S": "17850"}}, "UpdateExpression": "SET #i0 = :s0",
                       "ExpressionAttributeNames": {"#i0": "536365"}, "ExpressionAttributeValues": {":s0": value}},
        "BatchGetItem": {"RequestItems": {"invoice": {"Keys": [{"InvoiceNo": {"S": "1"}}, {"InvoiceNo": value}], "ConsistentRead": True}}},
        "Query": {"TableName": "invoice", "KeyConditionExpression": "InvoiceNo = :n", "ExpressionAttributeValues": {":n": value}, "Limit": 10},
    }  # fmt: skip
    for operation, body in requests.items():
        assert outcome(parsed, operation, body, fast_structure) == outcome(parsed, operation, body, ORIGINAL_PARSE), operation


def outcome(function, *args):
    """What a call returns, or the type of what it raises (a malformed request fails alike)."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - compared, not handled
        return type(error)


def test_a_response_class_s_methods_are_listed_as_moto_lists_them():
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler
    from moto.kinesis.responses import KinesisResponse

    listed = fast._listed_once_per_class(method_names_from_class)
    for clazz in (DynamoHandler, KinesisResponse, DynamoHandler):
        assert listed(clazz) == method_names_from_class(clazz)
        assert "put_item" in listed(DynamoHandler) and "put_item" not in listed(KinesisResponse)


def test_put_records_results_are_serialized_as_moto_serializes_them():
    result = {
        "FailedRecordCount": 1,
        "Records": [
            {"SequenceNumber": "49590338271490256608559692538361571095921575989136588898", "ShardId": "shardId-000000000001"},
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"},
            {"SequenceNumber": 12345, "ShardId": "shardId-000000000000"},  # not a string: moto's own path
        ],
        "EncryptionType": "KMS",
    }
    fast_structure = fast._fast_json_structure(ORIGINAL_STRUCTURE)
    assert serialized("PutRecords", result, fast_structure, "kinesis") == serialized("PutRecords", result, ORIGINAL_STRUCTURE, "kinesis")


# --- UpdateItem without the snapshots nobody reads -------------------------------------------


def test_dynamodb_models_copies_only_the_updated_item_and_transactions():
    """The ``copy`` replacement in moto.dynamodb.models passes every call through but the
    updated item's copy, which only the table's stream reads."""
    import inspect

    from moto.dynamodb import models

    source = inspect.getsource(models)
    assert source.count("copy.") == 2 and source.count("copy.deepcopy(") == 2
    assert "orig_item = copy.deepcopy(item)" in source
    after = source.split("orig_item = copy.deepcopy(item)", 1)[1].split("    def ", 1)[0]
    assert [line.strip() for line in after.splitlines() if "orig_item" in line] == ["table.stream_shard.add(orig_item, item)"]
    assert "if table.stream_shard is not None:" in after


UPDATES = {
    "nothing back": {},
    "all new": {"ReturnValues": "ALL_NEW"},
    "updated old": {"ReturnValues": "UPDATED_OLD"},
    "a new item": {"Key": {"k": {"S": "c2"}}},
    "condition fails": {"ConditionExpression": "attribute_not_exists(k)"},
    "condition fails, old item back": {"ConditionExpression": "attribute_not_exists(k)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    "too large": {"ExpressionAttributeValues": {":s": {"S": "x" * 410_000}}},
    "streamed table": {"TableName": "streamed", "ReturnValues": "NONE"},
    "no such table": {"TableName": "missing"},
}


def update_outcome(arguments: dict, monkeypatch, *, fast_paths: bool) -> tuple:
    """UpdateItem on moto in this process (as moto has it, or with the fast UpdateItem): the
    answer or error, the table's items and the stream's records afterwards."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb import models, responses

    with monkeypatch.context() as patch:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        if fast_paths:
            patch.setattr(responses, "copy", fast._ItemSnapshotByJson)
            patch.setattr(fast._ModelsCopy, "item_type", Item)  # as install() sets it
            patch.setattr(models, "copy", fast._ModelsCopy)
            patch.setattr(Item, "to_json", fast._item_to_json(Item.to_json))
            patch.setattr(responses.DynamoHandler, "update_item", fast._update_item_without_snapshots(responses.DynamoHandler.update_item))
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            for table, stream in (("plain", None), ("streamed", {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})):
                client.create_table(
                    TableName=table, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], **({"StreamSpecification": stream} if stream else {}),
                )  # fmt: skip
                client.put_item(TableName=table, Item={"k": {"S": "c1"}, "600001": {"M": {"Total": {"N": "1.5"}}}})
            try:
                answer = client.update_item(**arguments)
                answer.pop("ResponseMetadata")
            except client.exceptions.ClientError as error:
                answer = {"error": error.response["Error"], "item": error.response.get("Item")}
            items = {table: client.scan(TableName=table)["Items"] for table in ("plain", "streamed")}
            shard = models.dynamodb_backends["123456789012"]["us-east-1"].get_table("streamed").stream_shard
            records = [(r.record["eventName"], r.record["dynamodb"].get("OldImage"), r.record["dynamodb"].get("NewImage")) for r in shard.items]
    return answer, items, records


@pytest.mark.parametrize("case", UPDATES)
def test_updates_answer_store_and_stream_as_moto_s(case, monkeypatch):
    arguments = {
        "TableName": "plain", "Key": {"k": {"S": "c1"}}, "UpdateExpression": "SET #i = :s",
        "ExpressionAttributeNames": {"#i": "600002"}, "ExpressionAttributeValues": {":s": {"M": {"Total": {"N": "2"}}}},
        **UPDATES[case],
    }  # fmt: skip
    theirs = update_outcome(arguments, monkeypatch, fast_paths=False)
    ours = update_outcome(arguments, monkeypatch, fast_paths=True)
    assert ours == theirs
    assert not fast._WITHOUT_SNAPSHOTS.active
