"""The audit chain's arithmetic: canonical JSON, record MACs, chain links, diffs (no database)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lotline.domain.audit_chain import (
    GENESIS_LINK,
    RecordContent,
    canonical_json,
    chain_link,
    diff,
    fields_needing_reason,
    record_mac,
    same_digest,
)

KEY = b"test-audit-key-kept-outside-the-database"
SHANGHAI = timezone(timedelta(hours=8))
quick = settings(max_examples=30, deadline=None)  # few examples; no timing-based failures

# Fixed offsets (to the minute, as real zones use) keep generation fast; the bounds keep any
# conversion to UTC inside datetime's range.
utc_offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=utc_offsets
)
optional_ids = st.none() | st.integers(min_value=1, max_value=2**63 - 1)
optional_text = st.none() | st.text(max_size=40)
hex_digests = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)

FIELD_VALUES: dict[str, st.SearchStrategy[object]] = {
    "record_uuid": st.uuids().map(str),
    "occurred_at": aware_datetimes,
    "actor_kind": st.sampled_from(["user", "token", "system"]),
    "actor_id": optional_ids,
    "actor_name": st.text(max_size=40),
    "token_id": optional_ids,
    "site_id": optional_ids,
    "action": st.sampled_from(["create", "update", "delete", "grant", "revoke"]),
    "entity_type": st.sampled_from(["site", "user", "role_grant", "lot"]),
    "entity_id": st.integers(min_value=1).map(str),
    "changes": st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10)).map(
        canonical_json
    ),
    "reason": optional_text,
    "request_id": optional_text,
}
contents = st.builds(RecordContent, **FIELD_VALUES)  # type: ignore[arg-type]


def same_instant(left: object, right: object) -> bool:
    return isinstance(left, datetime) and isinstance(right, datetime) and left == right


def sample_content(**overrides: object) -> RecordContent:
    values: dict[str, object] = {
        "record_uuid": "00000000-0000-4000-8000-000000000001",
        "occurred_at": datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        "actor_kind": "user",
        "actor_id": 7,
        "actor_name": "李秀英 (Li Xiuying)",
        "token_id": None,
        "site_id": 1,
        "action": "update",
        "entity_type": "site",
        "entity_id": "1",
        "changes": canonical_json({"time_zone": ["Asia/Shanghai", "Europe/Berlin"]}),
        "reason": "moved the plant",
        "request_id": "req-1",
    }
    values.update(overrides)
    return RecordContent(**values)  # type: ignore[arg-type]


# --- canonical_json ------------------------------------------------------------------------


def test_canonical_json_does_not_depend_on_key_order() -> None:
    forwards = {"b": 1, "a": {"y": 2, "x": 3}}
    backwards = {"a": {"x": 3, "y": 2}, "b": 1}

    assert canonical_json(forwards) == canonical_json(backwards) == '{"a":{"x":3,"y":2},"b":1}'


@quick
@given(st.dictionaries(st.text(), st.integers() | st.text() | st.none()))
def test_canonical_json_is_the_same_for_any_insertion_order(value: dict[str, object]) -> None:
    reordered = dict(reversed(list(value.items())))

    assert canonical_json(reordered) == canonical_json(value)


def test_canonical_json_keeps_chinese_text_as_utf8_rather_than_escapes() -> None:
    text = canonical_json({"name_zh": "鲜汇食品 松江工厂"})

    assert text == '{"name_zh":"鲜汇食品 松江工厂"}'
    assert "\\u" not in text


def test_canonical_json_writes_an_aware_datetime_in_utc_with_microseconds() -> None:
    shanghai_morning = datetime(2026, 3, 1, 16, 0, tzinfo=SHANGHAI)

    assert canonical_json({"at": shanghai_morning}) == '{"at":"2026-03-01T08:00:00.000000+00:00"}'


@quick
@given(aware_datetimes)
def test_canonical_json_is_the_same_for_one_instant_in_any_time_zone(moment: datetime) -> None:
    assert canonical_json(moment) == canonical_json(moment.astimezone(UTC))
    assert canonical_json(moment) == canonical_json(moment.astimezone(SHANGHAI))


def test_canonical_json_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        canonical_json({"at": datetime(2026, 3, 1, 8, 0)})


def test_canonical_json_writes_a_decimal_as_its_exact_string() -> None:
    assert canonical_json({"qty": Decimal("0.1") + Decimal("0.2")}) == '{"qty":"0.3"}'
    assert canonical_json([Decimal("12345678901234567890.123456789")]) == '["12345678901234567890.123456789"]'


def test_canonical_json_has_no_whitespace_between_tokens() -> None:
    text = canonical_json({"a": [1, 2], "b": {"c": None}})

    assert text == '{"a":[1,2],"b":{"c":null}}'
    assert json.loads(text) == {"a": [1, 2], "b": {"c": None}}


# --- record_mac ----------------------------------------------------------------------------


def test_record_mac_is_a_hex_sha256_digest_that_is_stable_for_the_same_content() -> None:
    mac = record_mac(KEY, sample_content())

    assert len(mac) == 64
    assert int(mac, 16) >= 0
    assert record_mac(KEY, sample_content()) == mac


def test_the_mac_properties_below_cover_every_field_of_record_content() -> None:
    assert set(FIELD_VALUES) == {field.name for field in dataclasses.fields(RecordContent)}


# Every field is its own case, so a field left out of the canonical form cannot slip through
# a run that happened not to draw it.
@pytest.mark.parametrize("field", list(FIELD_VALUES))
@settings(max_examples=15, deadline=None)
@given(content=contents, data=st.data())
def test_record_mac_changes_when_any_field_of_the_content_changes(
    field: str, content: RecordContent, data: st.DataObject
) -> None:
    old = getattr(content, field)
    new = data.draw(FIELD_VALUES[field], label=f"new {field}")
    assume(new != old and not same_instant(new, old))

    altered = dataclasses.replace(content, **{field: new})

    assert record_mac(KEY, altered) != record_mac(KEY, content)


@quick
@given(content=contents)
def test_record_mac_is_the_same_for_occurred_at_given_in_another_time_zone(content: RecordContent) -> None:
    elsewhere = dataclasses.replace(content, occurred_at=content.occurred_at.astimezone(SHANGHAI))

    assert record_mac(KEY, elsewhere) == record_mac(KEY, content)


@quick
@given(content=contents, other_key=st.text(min_size=1, max_size=64).filter(lambda k: "\x00" not in k))
def test_record_mac_changes_when_the_key_changes(content: RecordContent, other_key: str) -> None:
    # LOTLINE_AUDIT_KEY is an environment string, so it never holds NUL (HMAC pads short keys with it).
    assume(other_key.encode() != KEY)

    assert record_mac(other_key.encode(), content) != record_mac(KEY, content)


def test_record_mac_refuses_content_with_a_naive_occurred_at() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        record_mac(KEY, sample_content(occurred_at=datetime(2026, 3, 1, 8, 0)))


# --- chain_link ----------------------------------------------------------------------------


@quick
@given(prev=hex_digests, seq=st.integers(min_value=1, max_value=2**63 - 1), mac=hex_digests)
def test_chain_link_is_deterministic(prev: str, seq: int, mac: str) -> None:
    link = chain_link(KEY, prev, seq, mac)

    assert len(link) == 64
    assert same_digest(link, chain_link(KEY, prev, seq, mac))


@quick
@given(prev=hex_digests, other_prev=hex_digests, seq=st.integers(min_value=1), mac=hex_digests)
def test_chain_link_changes_when_the_previous_link_changes(
    prev: str, other_prev: str, seq: int, mac: str
) -> None:
    assume(prev != other_prev)

    assert chain_link(KEY, other_prev, seq, mac) != chain_link(KEY, prev, seq, mac)


@quick
@given(prev=hex_digests, seq=st.integers(min_value=1), other_seq=st.integers(min_value=1), mac=hex_digests)
def test_chain_link_changes_when_the_sequence_number_changes(
    prev: str, seq: int, other_seq: int, mac: str
) -> None:
    assume(seq != other_seq)

    assert chain_link(KEY, prev, other_seq, mac) != chain_link(KEY, prev, seq, mac)


@quick
@given(prev=hex_digests, seq=st.integers(min_value=1), mac=hex_digests, other_mac=hex_digests)
def test_chain_link_changes_when_the_record_mac_changes(
    prev: str, seq: int, mac: str, other_mac: str
) -> None:
    assume(mac != other_mac)

    assert chain_link(KEY, prev, seq, other_mac) != chain_link(KEY, prev, seq, mac)


def test_chain_link_changes_when_the_key_changes() -> None:
    mac = record_mac(KEY, sample_content())

    assert chain_link(b"another key", GENESIS_LINK, 1, mac) != chain_link(KEY, GENESIS_LINK, 1, mac)


def test_the_first_link_follows_the_genesis_link_of_sixty_four_zeros() -> None:
    assert GENESIS_LINK == "0" * 64


def test_same_digest_tells_equal_digests_from_different_ones() -> None:
    mac = record_mac(KEY, sample_content())

    assert same_digest(mac, mac)
    assert not same_digest(mac, GENESIS_LINK)


# --- diff ----------------------------------------------------------------------------------


def test_diff_lists_only_the_fields_whose_value_changed() -> None:
    before = {"code": "SH01", "name_en": "Songjiang", "time_zone": "Asia/Shanghai"}
    after = {"code": "SH01", "name_en": "Songjiang Plant", "time_zone": "Asia/Shanghai"}

    assert diff(before, after) == {"name_en": ["Songjiang", "Songjiang Plant"]}


def test_diff_reports_an_added_field_as_changed_from_none() -> None:
    assert diff({"code": "SH01"}, {"code": "SH01", "email": "qa@example.com"}) == {
        "email": [None, "qa@example.com"]
    }


def test_diff_reports_a_removed_field_as_changed_to_none() -> None:
    assert diff({"code": "SH01", "email": "qa@example.com"}, {"code": "SH01"}) == {
        "email": ["qa@example.com", None]
    }


def test_diff_treats_a_missing_field_and_a_none_value_as_the_same() -> None:
    assert diff({"email": None}, {}) == {}


def test_diff_of_identical_snapshots_is_empty() -> None:
    snapshot = {"code": "SH01", "active": True, "time_zone": "Asia/Shanghai"}

    assert diff(snapshot, dict(snapshot)) == {}


@quick
@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(min_value=0, max_value=3)),
    st.dictionaries(st.sampled_from("abcdef"), st.integers(min_value=0, max_value=3)),
)
def test_diff_holds_old_and_new_values_for_exactly_the_differing_fields(
    before: dict[str, int], after: dict[str, int]
) -> None:
    changed = diff(before, after)

    assert set(changed) == {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    for name, (old, new) in changed.items():
        assert (old, new) == (before.get(name), after.get(name))


# --- fields_needing_reason -----------------------------------------------------------------


def test_fields_needing_reason_picks_the_configured_fields_of_that_entity_only() -> None:
    configured = {"site.time_zone", "site.active", "user.active"}

    assert fields_needing_reason("site", {"time_zone", "name_en", "active"}, configured) == [
        "active",
        "time_zone",
    ]


def test_fields_needing_reason_ignores_a_field_configured_for_another_entity() -> None:
    assert fields_needing_reason("site", {"active"}, {"user.active"}) == []


def test_fields_needing_reason_is_empty_when_no_configured_field_changed() -> None:
    assert fields_needing_reason("site", {"name_en", "name_zh"}, {"site.time_zone"}) == []
    assert fields_needing_reason("site", set(), {"site.time_zone"}) == []
