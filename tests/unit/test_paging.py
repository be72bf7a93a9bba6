"""Paging cursors round-trip, and a cursor lotline did not make is a clean 4xx error."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lotline.domain.errors import ErrorKind, InvalidInput
from lotline.paging import decode_cursor, encode_cursor

quick = settings(max_examples=30, deadline=None)  # few examples; no timing-based failures


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decoded_or_refused(cursor: str) -> int | str:
    """The id a cursor decodes to, or the code of the error refusing it."""
    try:
        return decode_cursor(cursor)
    except InvalidInput as error:
        return error.code


def assert_bad_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.field == "cursor"
    assert caught.value.code == "paging.bad_cursor"
    assert caught.value.kind is ErrorKind.INVALID


@quick
@given(st.integers())
def test_a_cursor_decodes_to_the_id_it_was_made_from(last_id: int) -> None:
    assert decode_cursor(encode_cursor(last_id)) == last_id


@quick
@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_a_cursor_is_url_safe_text_without_padding(last_id: int) -> None:
    cursor = encode_cursor(last_id)

    assert cursor
    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("not a cursor!", id="not-base64"),
        pytest.param("A", id="bad-padding"),
        pytest.param(b64(b"\xff\xfe\x00"), id="not-utf8"),
        pytest.param(b64(b"plain text"), id="not-json"),
        pytest.param(b64(b'{"before": 5}'), id="no-after-key"),
        pytest.param(b64(b"[5]"), id="a-list"),
        pytest.param(b64(b"5"), id="a-bare-number"),
        pytest.param(b64(b'"after"'), id="a-string"),
        pytest.param(b64(b'{"after": "5"}'), id="after-is-text"),
        pytest.param(b64(b'{"after": 5.5}'), id="after-is-a-float"),
        pytest.param(b64(b'{"after": null}'), id="after-is-null"),
        pytest.param(b64(b'{"after": [5]}'), id="after-is-a-list"),
        pytest.param(b64(b'{"after": ' + b"9" * 10_000 + b"}"), id="after-has-too-many-digits"),
    ],
)
def test_a_garbage_cursor_is_refused_as_invalid_input_naming_the_cursor(cursor: str) -> None:
    assert_bad_cursor(cursor)


def test_a_cursor_whose_id_is_a_boolean_is_refused() -> None:
    assert_bad_cursor(b64(b'{"after": true}'))


def test_a_cursor_of_deeply_nested_json_is_refused() -> None:
    assert_bad_cursor(b64(b"[" * 100_000))


@quick
@given(st.text(max_size=60))
def test_any_text_either_decodes_to_an_integer_id_or_is_refused_as_a_bad_cursor(cursor: str) -> None:
    outcome = decoded_or_refused(cursor)

    assert type(outcome) is int or outcome == "paging.bad_cursor"


@quick
@given(st.binary(max_size=60))
def test_any_base64_payload_either_decodes_to_an_integer_id_or_is_refused(payload: bytes) -> None:
    outcome = decoded_or_refused(b64(payload))

    if outcome != "paging.bad_cursor":
        assert type(outcome) is int
        assert outcome == json.loads(payload)["after"]
