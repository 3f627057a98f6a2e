"""DynamoDB rules that moto 5.2.5 (pinned) does not keep, kept in the local cloud's DynamoDB process.

- **BatchWriteItem is rejected whole when one item is over 400 KB.** "If one or more of the
  following is true, DynamoDB rejects the entire batch write operation: ... Any individual item
  in a batch exceeds 400 KB" (DynamoDB API Reference, BatchWriteItem). moto wrote the items
  before the oversized one, then answered with the error: a caller that writes the batch's items
  again one at a time (as ``write_kinesis_to_dynamodb`` does) would find some already there.
  Every put's size is checked, as moto checks one, before anything is written.
"""

from __future__ import annotations

from typing import Any

from helpers.localcloud.planes.moto_fast_paths import ITEM_SIZE_LIMIT


def _check_size(item: Any) -> None:
    """Raise moto's ItemSizeTooLarge if the item is over the limit, as moto's own put would."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import Item

    try:
        Item(None, None, item)  # checks the 400 KB limit, as a put does
    except ItemSizeTooLarge:
        raise
    except Exception:  # not a valid item: moto's own checks answer for it
        pass


def _batch_write_item_rejected_whole(original: Any) -> Any:
    def batch_write_item(self: Any) -> Any:
        raw = self.raw_body or b""
        if len(raw.encode("utf-8") if isinstance(raw, str) else raw) <= ITEM_SIZE_LIMIT:
            # An item's size, as DynamoDB (and moto) counts it, is never more than its JSON in the
            # request: no item of a request this small can be over the limit.
            return original(self)
        for requests in (self.body.get("RequestItems") or {}).values():
            for request in requests if isinstance(requests, list) else []:
                item = (request.get("PutRequest") or {}).get("Item") if isinstance(request, dict) else None
                if isinstance(item, dict):
                    _check_size(item)
        return original(self)

    batch_write_item._rejected_whole = True  # type: ignore[attr-defined]
    return batch_write_item


def install() -> None:
    """Keep the rules above in this process's moto (idempotent)."""
    from moto.dynamodb.responses import DynamoHandler

    if not getattr(DynamoHandler.batch_write_item, "_rejected_whole", False):
        DynamoHandler.batch_write_item = _batch_write_item_rejected_whole(DynamoHandler.batch_write_item)
