"""API keys, usage plans, throttling and quotas.

- A method with ``apiKeyRequired`` needs an ``x-api-key`` header naming an enabled key that belongs
  to a usage plan which includes the API stage; else 403 ``Forbidden``
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
- Throttling is a token bucket (``rateLimit`` tokens per second, at most ``burstLimit`` tokens);
  an empty bucket is 429 ``Too Many Requests``. Limits apply in this order: the usage plan's
  per-method limit (a bucket per key and method) else the plan's own (one bucket per key for
  every method and stage of the plan); the stage's per-method setting else its ``*/*`` default
  (a bucket per method); then the account's 10,000 requests per second with a burst of 5,000
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
- A quota counts the requests of one key in one plan per calendar DAY, WEEK or MONTH (UTC; a
  week starts on Sunday); ``offset`` requests are taken off the limit of the first period.
  Past the limit: 429 ``Limit Exceeded``. Throttle and quota are shared by all the stages of
  a plan, as on AWS ("aggregated across all API stages within a usage plan").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers.localcloud.apigateway.responses import GatewayError, internal_error

ACCOUNT_RATE_LIMIT, ACCOUNT_BURST_LIMIT = 10_000.0, 5_000


@dataclass(frozen=True)
class KeyUse:
    """The key a request presented and the usage plan that lets it call this stage."""

    key_id: str
    key_value: str
    plan: Any  # moto's UsagePlan (read live: plans are not part of a deployment)


def find_key(backend: Any, api_id: str, stage: str, presented: str | None) -> KeyUse:
    """The valid key and plan for ``presented``, or GatewayError INVALID_API_KEY (403 Forbidden)."""
    if not presented:
        raise GatewayError("INVALID_API_KEY", "Forbidden")
    for plan in list(backend.usage_plans.values()):
        if not any(s.get("apiId") == api_id and s.get("stage") == stage for s in plan.api_stages or []):
            continue
        for plan_key in list(backend.usage_plan_keys.get(plan.id, {}).values()):
            key = backend.keys.get(plan_key.id)
            if key is not None and key.value == presented:
                if not key.enabled:
                    raise GatewayError("INVALID_API_KEY", "Forbidden")
                return KeyUse(key_id=key.id, key_value=key.value, plan=plan)
    raise GatewayError("INVALID_API_KEY", "Forbidden")


class TokenBucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Throttles:
    """Token buckets by scope; a changed limit starts a fresh bucket."""

    def __init__(self) -> None:
        self._buckets: dict[tuple, TokenBucket] = {}
        self._lock = threading.Lock()

    def allow(self, scope: tuple, rate: float, burst: int, now: float) -> bool:
        key = (*scope, rate, burst)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(rate, burst, now)
            return bucket.take(now)


def _limit(settings: dict[str, Any] | None, rate_key: str, burst_key: str) -> tuple[float, int] | None:
    if not settings or settings.get(rate_key) is None or settings.get(burst_key) is None:
        return None
    return float(settings[rate_key]), int(settings[burst_key])


def client_limit(
    key_use: KeyUse, api_id: str, stage: str, resource_path: str, http_method: str
) -> tuple[tuple, tuple[float, int] | None]:
    """(bucket scope, limit) for the key: the plan's limit for this method (``"/path/VERB"`` in
    apiStages[].throttle), else the plan's own, shared by every method and stage of the plan."""
    plan, key = key_use.plan.id, key_use.key_id
    for api_stage in key_use.plan.api_stages or []:
        if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
            method_throttle = (api_stage.get("throttle") or {}).get(f"{resource_path}/{http_method}")
            method_limit = _limit(method_throttle, "rateLimit", "burstLimit")
            if method_limit:
                return ("plan-method", plan, key, api_id, stage, resource_path, http_method), method_limit
    return ("plan", plan, key), _limit(key_use.plan.throttle, "rateLimit", "burstLimit")


def stage_limit(method_settings: dict[str, Any], resource_path: str, http_method: str) -> tuple[float, int] | None:
    """A stage's per-method setting (key ``~1path/VERB``), else its default (``*/*``)."""
    own = method_settings.get(f"{resource_path.replace('/', '~1')}/{http_method}")
    return _limit(own, "throttlingRateLimit", "throttlingBurstLimit") or _limit(
        method_settings.get("*/*"), "throttlingRateLimit", "throttlingBurstLimit"
    )


def period_start(period: str, now: datetime) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        return day
    if period == "WEEK":
        return day - timedelta(days=(day.weekday() + 1) % 7)  # back to Sunday
    if period == "MONTH":
        return day.replace(day=1)
    raise internal_error(f"usage plan quota period {period!r} is not DAY, WEEK or MONTH")


class Quotas:
    """Requests counted per (plan, key) and calendar period."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], tuple[datetime, int]] = {}
        self._first_period: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def allow(self, plan_id: str, key_id: str, quota: dict[str, Any], now: datetime) -> bool:
        limit, period = int(quota["limit"]), str(quota.get("period", "DAY")).upper()
        start = period_start(period, now)
        with self._lock:
            first = self._first_period.setdefault((plan_id, key_id), start)
            counted_start, count = self._counts.get((plan_id, key_id), (start, 0))
            if counted_start != start:
                count = 0
            allowed_now = limit - (int(quota.get("offset") or 0) if start == first else 0)
            if count >= allowed_now:
                return False
            self._counts[(plan_id, key_id)] = (start, count + 1)
            return True
