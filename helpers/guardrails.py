"""A stop before anything billable is created on AWS, unless the learner said yes to the charges.

Every notebook that creates billable resources has ``accept_aws_charges = False`` in its parameters
cell and, before creating them, calls::

    guardrails.confirm_billable(["Kinesis stream api-data: 2 shards, $0.015 per shard-hour", ...],
                                accepted=accept_aws_charges)

On the local target it returns at once: the local cloud costs nothing. On AWS, without acceptance,
it raises ``ChargesNotAccepted`` listing what would be billed and how to accept; nothing has been
created by then. The prices quoted are us-east-1 list prices; other Regions differ.
"""

from __future__ import annotations

from helpers import config

ACCEPT_HINT = (
    "To accept, run the notebook with `-p accept_aws_charges True` (papermill or python -m helpers.runner), "
    "or set `accept_aws_charges = True` in its parameters cell. Notebook 99 deletes everything afterwards."
)
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0", "")


class ChargesNotAccepted(RuntimeError):
    """The notebook would create billable AWS resources and ``accept_aws_charges`` is not set."""


def as_bool(value: object) -> bool:
    """``accept_aws_charges`` as a bool: papermill passes ``True``, the runner's ``-p`` passes the text ``"True"``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"accept_aws_charges={value!r}: use True or False")


def confirm_billable(items: list[str], accepted: bool, settings: config.Settings | None = None) -> None:
    """Return if the target is local, or if the charges of ``items`` are accepted; otherwise raise
    ``ChargesNotAccepted`` naming each item and how to accept."""
    if not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise ValueError("confirm_billable needs the billable items, one description each")
    s = settings or config.settings()
    if s.is_local:
        return
    listed = "\n".join(f"  - {item}" for item in items)
    if as_bool(accepted):
        print(f"Charges accepted on AWS ({s.region}); this notebook creates:\n{listed}")
        return
    raise ChargesNotAccepted(
        f"This notebook would create billable resources on AWS in {s.region} (prices: us-east-1 list prices):\n"
        f"{listed}\nNothing has been created. {ACCEPT_HINT}"
    )
