"""Protocol vectors: signatures, bearer tokens, event-key hash, step-ID hashes."""

from __future__ import annotations

import time

import pytest

from inngest_serverless.core import signing
from inngest_serverless.core.replay import Engine
from tests.support.core_driver import h

KEY = "signkey-test-7468697320697320612074657374206b6579"


def test_request_signature_vector() -> None:
    assert signing.sign(b'{"a":1}', KEY, 1705586504) == (
        "t=1705586504&s=7b5670d47c7b6557f138bdb25cd63a5f64d261ae49b5c9e7214541af71ba94e8"
    )


def test_hmac_key_is_the_hex_text_not_its_bytes() -> None:
    # A self-hosted server signs with the raw key: both forms must agree.
    assert signing.sign(b"x", KEY, 1) == signing.sign(b"x", "7468697320697320612074657374206b6579", 1)


def test_bearer_vector_keeps_prefix() -> None:
    assert signing.bearer("signkey-prod-12345678") == (
        "signkey-prod-b2ed992186a5cb19f6668aade821f502c1d00970dfd0e35128d51bac4649916c"
    )


def test_event_key_hash_is_sha256_of_text() -> None:
    assert signing.event_key_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_verify_canonicalises_with_jcs() -> None:
    # Go's json.Marshal escapes & < > ; the signature is over the JCS form.
    raw = b'{"url":"http://x/api?a=1\\u0026b=2"}'
    canonical = b'{"url":"http://x/api?a=1&b=2"}'
    header = signing.sign(canonical, KEY, int(time.time()))
    assert signing.verify(raw, header, (KEY, None)).key == KEY


def test_verify_empty_body_signs_timestamp_only() -> None:
    header = signing.sign(b"", KEY, int(time.time()))
    assert signing.verify(b"", header, (KEY,)).key == KEY


def test_verify_falls_back_to_second_key() -> None:
    other = "signkey-test-00ff"
    header = signing.sign(b"{}", other, int(time.time()))
    assert signing.verify(b"{}", header, (KEY, other)).key == other


@pytest.mark.parametrize("header", ["", "t=1", "s=abc", "t=notanumber&s=ab", "garbage"])
def test_malformed_headers_are_rejected(header: str) -> None:
    with pytest.raises(signing.SignatureError):
        signing.verify(b"{}", header, (KEY,))


def test_stale_signature_is_rejected() -> None:
    header = signing.sign(b"{}", KEY, int(time.time()) - 301)
    with pytest.raises(signing.SignatureError, match="expired"):
        signing.verify(b"{}", header, (KEY,))


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("my-step-id", "e7d8a2f140845095749d60246ff1110c9d01d76a"),
        ("first step", "98bf98df193bcce7c33e6bc50927cf2ac21206cb"),
        ("sleep", "c3ca5f787365eae0dea86250e27d476406956478"),
        ("second step", "764e20ec975d4ef820d0f42e6a5833384bd7ee36"),
        ("wait", "daaad336276d15594d0e765f96c17cd746bf4971"),
    ],
)
def test_step_id_hashes(user_id: str, expected: str) -> None:
    assert h(user_id) == expected
    assert Engine({}, None, True).next_id(user_id) == (expected, 0)


def test_repeated_step_ids_hash_with_counter() -> None:
    engine = Engine({}, None, True)
    assert engine.next_id("my-step-id")[0] == "e7d8a2f140845095749d60246ff1110c9d01d76a"
    assert engine.next_id("my-step-id") == ("f47c6228c581af870aa285200cf95ec3ac59bb6a", 1)
    assert engine.next_id("my-step-id")[0] == h("my-step-id:2")
