"""The ingestion API's request model agrees with kinesis_api, and secrets are shown masked."""

from __future__ import annotations

import pytest
from jsonschema import Draft4Validator

from helpers import client, data, ingestion_api
from lambda_code import kinesis_api

# API Gateway's request models are JSON Schema draft 4
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-models.html).
MODEL = Draft4Validator(ingestion_api.POST_BODY_SCHEMA)


@pytest.fixture(scope="module")
def sample_events():
    path = data.sample_path()
    return client.to_events(data.load_invoices(path), path.name)


def test_the_model_is_valid_draft_4():
    Draft4Validator.check_schema(ingestion_api.POST_BODY_SCHEMA)


def test_every_request_the_client_sends_passes_the_gateway(sample_events):
    assert MODEL.is_valid(sample_events[0])
    for batch in client.batches(sample_events, client.MAX_BATCH):
        assert MODEL.is_valid(batch)


@pytest.mark.parametrize(
    "body",
    [[], "536365", 536365, None, [["nested"]], ["536365"], [{}] * (ingestion_api.MAX_EVENTS + 1)],
    ids=["empty array", "string", "number", "null", "array of arrays", "array of strings", "too many"],
)
def test_what_the_gateway_refuses_the_function_refuses_too(body):
    """The gateway only checks the envelope; it must never refuse what the function would accept."""
    assert not MODEL.is_valid(body)
    request = kinesis_api.Request("POST", {}, body)
    with pytest.raises(kinesis_api.ApiError) as refused:
        kinesis_api.post_events(request, {})
    assert refused.value.status in (400, 413)


def test_the_batch_limit_is_the_functions():
    assert ingestion_api.MAX_EVENTS == kinesis_api.MAX_EVENTS_PER_REQUEST == client.MAX_BATCH


def test_a_masked_secret_shows_only_its_length_and_last_four_characters():
    secret = "r1xvG8PahAWmngVpLdNwTluCZIjt6coOYKU9q5Sz"
    shown = ingestion_api.mask(secret)
    assert shown == "********q5Sz (40 characters)"
    assert secret[:-4] not in shown
