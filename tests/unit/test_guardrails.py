"""guardrails.confirm_billable: free on the local cloud, an explicit yes on AWS."""

from __future__ import annotations

import dataclasses

import pytest

from helpers import config, guardrails

ITEMS = ["Kinesis stream api-data: 2 shards, $0.015 per shard-hour", "Lambda kinesis_api: $0.20 per million requests"]


@pytest.fixture
def local() -> config.Settings:
    return dataclasses.replace(config.load(), target="local")


@pytest.fixture
def on_aws(local) -> config.Settings:
    return dataclasses.replace(local, target="aws")


def test_the_local_target_never_asks(local):
    assert guardrails.confirm_billable(ITEMS, accepted=False, settings=local) is None


def test_aws_without_acceptance_names_every_item_and_how_to_accept(on_aws):
    with pytest.raises(guardrails.ChargesNotAccepted) as raised:
        guardrails.confirm_billable(ITEMS, accepted=False, settings=on_aws)
    message = str(raised.value)
    assert all(item in message for item in ITEMS)
    assert "-p accept_aws_charges True" in message and "parameters cell" in message and "Nothing has been created" in message


def test_aws_with_acceptance_goes_on_and_says_what_it_accepted(on_aws, capsys):
    guardrails.confirm_billable(ITEMS, accepted=True, settings=on_aws)
    assert ITEMS[0] in capsys.readouterr().out


@pytest.mark.parametrize("text, expected", [("True", True), ("true", True), ("1", True), ("False", False), ("", False)])
def test_the_runners_text_parameters_are_understood(on_aws, text, expected):
    """python -m helpers.runner -p passes every value as text."""
    assert guardrails.as_bool(text) is expected


@pytest.mark.parametrize("value", ["maybe", 2, None])
def test_an_unclear_answer_is_refused(value):
    with pytest.raises(ValueError, match="accept_aws_charges"):
        guardrails.as_bool(value)


@pytest.mark.parametrize("items", [[], [""], ["  "]])
def test_the_items_must_be_described(local, items):
    with pytest.raises(ValueError, match="billable items"):
        guardrails.confirm_billable(items, accepted=True, settings=local)
