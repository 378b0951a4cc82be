"""Function options serialised exactly as the server reads them, validated at definition time; env config."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from inngest_serverless import (
    Batch,
    Cancel,
    Concurrency,
    ContextSync,
    Debounce,
    Inngest,
    Priority,
    RateLimit,
    Singleton,
    Throttle,
    Timeouts,
    TriggerCron,
    TriggerEvent,
)
from inngest_serverless.core import config as config_lib
from inngest_serverless.core.errors import ConfigError
from inngest_serverless.core.handler import Handler
from inngest_serverless.core.introspection import app_url, register_payload

MIN = datetime.timedelta(minutes=1)


def test_function_with_every_option_serialises_exactly() -> None:
    client = Inngest(app_id="shop", is_production=False)

    def failed(ctx: ContextSync) -> None:
        return None

    @client.create_function(
        fn_id="order",
        name="Order flow",
        trigger=[TriggerEvent(event="shop/order", expression="event.data.total > 10"),
                 TriggerCron(cron="TZ=Europe/Paris 0 9 * * 1-5")],
        retries=7,
        concurrency=[Concurrency(limit=5, key="event.data.user_id", scope="account"), Concurrency(limit=20)],
        throttle=Throttle(limit=10, period=MIN, burst=2, key="event.data.id"),
        rate_limit=RateLimit(limit=100, period=datetime.timedelta(hours=1), key="event.data.id"),
        debounce=Debounce(period=5 * MIN, key="event.data.id", timeout=datetime.timedelta(hours=1)),
        priority=Priority(run="event.data.priority"),
        cancel=[Cancel(event="shop/cancelled", if_exp="async.data.id == event.data.id",
                       timeout=datetime.timedelta(days=1))],
        singleton=Singleton(key="event.data.id", mode="cancel"),
        timeouts=Timeouts(start=10 * MIN, finish=datetime.timedelta(hours=1)),
        on_failure=failed,
    )
    def order(ctx: ContextSync) -> None:
        return None

    payload = register_payload(client.config, Handler(client).functions, "wsgi", "https://a.example/api/inngest")
    main, failure = payload["functions"]
    assert main == {
        "id": "shop-order",
        "name": "Order flow",
        "triggers": [{"event": "shop/order", "expression": "event.data.total > 10"},
                     {"cron": "TZ=Europe/Paris 0 9 * * 1-5"}],
        "steps": {"step": {"id": "step", "name": "step",
                           "runtime": {"type": "http",
                                       "url": "https://a.example/api/inngest?fnId=shop-order&stepId=step"},
                           "retries": {"attempts": 7}}},
        "concurrency": [{"limit": 5, "key": "event.data.user_id", "scope": "account"}, {"limit": 20}],
        "throttle": {"limit": 10, "period": "1m", "burst": 2, "key": "event.data.id"},
        "rateLimit": {"limit": 100, "period": "1h", "key": "event.data.id"},
        "debounce": {"period": "5m", "key": "event.data.id", "timeout": "1h"},
        "priority": {"run": "event.data.priority"},
        "singleton": {"key": "event.data.id", "mode": "cancel"},
        "timeouts": {"start": "10m", "finish": "1h"},
        "cancel": [{"event": "shop/cancelled", "if": "async.data.id == event.data.id", "timeout": "1d"}],
    }
    assert failure["id"] == "shop-order-failure"
    assert failure["triggers"] == [{"event": "inngest/function.failed",
                                    "expression": "event.data.function_id == 'shop-order'"}]
    assert failure["steps"]["step"]["retries"] == {"attempts": 0}


def test_batch_idempotency_and_default_retries() -> None:
    client = Inngest(app_id="a", is_production=False)

    @client.create_function(fn_id="b", trigger=TriggerEvent(event="x"),
                            batch_events=Batch(max_size=50, timeout=datetime.timedelta(seconds=90),
                                               key="event.data.u", if_exp="event.data.ok"))
    def b(ctx: ContextSync) -> None:
        return None

    @client.create_function(fn_id="i", trigger=TriggerEvent(event="x"), idempotency="event.data.order_id")
    def i(ctx: ContextSync) -> None:
        return None

    fb, fi = register_payload(client.config, Handler(client).functions, "python", "http://h/api")["functions"]
    assert fb["batchEvents"] == {"maxSize": 50, "timeout": "90s", "key": "event.data.u", "if": "event.data.ok"}
    assert fb["steps"]["step"]["retries"] == {"attempts": 4}
    assert fi["idempotency"] == "event.data.order_id"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trigger": []}, "at least one trigger"),
        ({"trigger": [TriggerEvent(event=f"e{i}") for i in range(11)]}, "limit is 10"),
        ({"retries": 21}, "retries"),
        ({"retries": -1}, "retries"),
        ({"concurrency": [Concurrency(limit=1)] * 3}, "1 or 2"),
        ({"cancel": [Cancel(event="x")] * 6}, "at most 5"),
        ({"throttle": "fast"}, "Throttle"),
        ({"batch_events": Batch(max_size=2, timeout=1000), "debounce": Debounce(period=1000)}, "cannot be combined"),
    ],
)
def test_invalid_function_options_fail_at_definition(kwargs: dict[str, Any], message: str) -> None:
    client = Inngest(app_id="a", is_production=False)
    args: dict[str, Any] = {"fn_id": "f", "trigger": TriggerEvent(event="x"), **kwargs}
    with pytest.raises(ConfigError, match=message):
        client.create_function(**args)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TriggerEvent(event=""), "non-empty"),
        (lambda: TriggerCron(cron="* * *"), "5 fields"),
        (lambda: TriggerCron(cron="@daily"), "descriptors"),
        (lambda: TriggerCron(cron="TZ=Mars/Olympus 0 9 * * *"), "IANA"),
        (lambda: Throttle(limit=0, period=MIN), "Throttle.limit"),
        (lambda: Throttle(limit=1, period=500), "at least 1s"),
        (lambda: Debounce(period=datetime.timedelta(days=8)), "at most 1w"),
        (lambda: Batch(max_size=2, timeout=500), "at least 1s"),
        (lambda: Singleton(mode="sometimes"), "skip"),  # type: ignore[arg-type]
        (lambda: Concurrency(limit=1, scope="world"), "scope"),  # type: ignore[arg-type]
        (lambda: Timeouts(), "start, finish"),
        (lambda: RateLimit(limit=1, period=datetime.timedelta(days=2)), "at most 1d"),
    ],
)
def test_invalid_options_raise_clear_errors(build: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build()


def test_batch_timeout_avoids_units_go_cannot_parse() -> None:
    assert Batch(max_size=2, timeout=datetime.timedelta(days=1)).to_wire()["timeout"] == "24h"


def test_cron_accepts_cron_tz_prefix() -> None:
    assert TriggerCron(cron="CRON_TZ=UTC */5 * * * *").to_wire() == {"cron": "CRON_TZ=UTC */5 * * * *"}


def test_duplicate_fn_id_is_refused() -> None:
    client = Inngest(app_id="a", is_production=False)
    client.create_function(fn_id="f", trigger=TriggerEvent(event="x"))(lambda ctx: None)
    with pytest.raises(ConfigError, match="already defined"):
        client.create_function(fn_id="f", trigger=TriggerEvent(event="x"))(lambda ctx: None)


def resolve(environ: dict[str, str], **kwargs: Any) -> config_lib.Config:
    args: dict[str, Any] = {k: None for k in ("is_production", "signing_key", "signing_key_fallback", "event_key",
                                                "env", "api_base_url", "event_api_base_url", "serve_origin",
                                                "serve_path", "app_version")}
    args.update(kwargs)
    return config_lib.resolve(app_id="a", environ=environ, **args)


def test_cloud_mode_is_default_and_needs_a_key() -> None:
    with pytest.raises(ValueError, match="signing key"):
        resolve({})
    cfg = resolve({"INNGEST_SIGNING_KEY": "signkey-prod-" + "aa" * 32})
    assert (cfg.mode, cfg.api_origin, cfg.event_api_origin) == ("cloud", "https://api.inngest.com", "https://inn.gs")


@pytest.mark.parametrize(("value", "dev"), [("1", True), ("true", True), ("0", False), ("false", False), ("", False)])
def test_inngest_dev_values(value: str, dev: bool) -> None:
    cfg = resolve({"INNGEST_DEV": value, "INNGEST_SIGNING_KEY": "signkey-prod-" + "aa" * 32})
    assert cfg.is_dev is dev


def test_inngest_dev_url_sets_origins_and_specific_vars_win() -> None:
    cfg = resolve({"INNGEST_DEV": "http://host.docker.internal:8288/"})
    assert cfg.api_origin == cfg.event_api_origin == "http://host.docker.internal:8288"
    assert cfg.event_key_or_default() == "NO_EVENT_KEY_SET"
    cfg = resolve({"INNGEST_DEV": "1", "INNGEST_BASE_URL": "http://b:1", "INNGEST_EVENT_API_BASE_URL": "http://e:2"})
    assert (cfg.api_origin, cfg.event_api_origin) == ("http://b:1", "http://e:2")
    assert resolve({"INNGEST_DEV": "1"}, api_base_url="http://arg:3").api_origin == "http://arg:3"


def test_env_branch_fallbacks_and_platform() -> None:
    cfg = resolve({"INNGEST_DEV": "1", "VERCEL_GIT_COMMIT_REF": "feature-x", "AWS_REGION": "eu-west-1"})
    assert (cfg.env, cfg.platform) == ("feature-x", "aws-eu-west-1")


def test_serve_origin_and_path_from_env() -> None:
    cfg = resolve({"INNGEST_DEV": "1", "INNGEST_SERVE_ORIGIN": "https://x.example", "INNGEST_SERVE_PATH": "/p"})
    assert app_url("http://internal:9/api?fnId=a", cfg.serve_origin, cfg.serve_path) == "https://x.example/p"


def test_serve_origin_without_scheme_keeps_request_scheme() -> None:
    assert app_url("https://in/api/inngest", "pub.example:8443", None) == "https://pub.example:8443/api/inngest"


@pytest.fixture
def package_logger() -> Any:
    import logging

    logger = logging.getLogger("inngest_serverless")
    level = logger.level
    yield logger
    logger.setLevel(level)


@pytest.mark.parametrize(("value", "level"), [("debug", 10), ("WARN", 30), (" error ", 40), ("silent", 60)])
def test_inngest_log_level_sets_the_level_of_the_packages_logger(
        monkeypatch: pytest.MonkeyPatch, package_logger: Any, value: str, level: int) -> None:
    monkeypatch.setenv("INNGEST_LOG_LEVEL", value)
    Inngest(app_id="a", is_production=False)
    assert package_logger.level == level
    assert package_logger.isEnabledFor(level) and not package_logger.isEnabledFor(level - 1)


def test_without_inngest_log_level_the_packages_logger_is_left_alone(
        monkeypatch: pytest.MonkeyPatch, package_logger: Any) -> None:
    monkeypatch.delenv("INNGEST_LOG_LEVEL", raising=False)
    package_logger.setLevel(25)
    Inngest(app_id="a", is_production=False)
    assert package_logger.level == 25


def test_an_unknown_inngest_log_level_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNGEST_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match="INNGEST_LOG_LEVEL must be one of debug, info, warn, error, fatal, silent"):
        Inngest(app_id="a", is_production=False)
