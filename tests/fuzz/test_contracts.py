"""JSON Schema contracts (clickstream_event, startup) and the Avro record contract (app_event).

Properties: generated valid records pass ``contracts.validate``; a record broken in one field
raises :class:`ContractViolation` naming exactly that field; any JSON value (or any dict for the
Avro contract) either passes or raises only ``ContractViolation`` with a non-empty field and reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import ContractViolation, validate
from tests.fuzz.strategies import fuzz, json_values, rfc3339, upper_country, utc_datetimes

nonempty = st.text(min_size=1, max_size=12)
nullable_text = st.none() | st.text(max_size=12)

clickstream_records: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "event_id": nonempty,
        "event_ts": utc_datetimes.map(rfc3339),
        "session_id": nonempty,
        "anonymous_id": nonempty,
        "event_type": st.sampled_from(
            [
                "page_view",
                "search",
                "product_view",
                "add_to_cart",
                "remove_from_cart",
                "checkout",
                "purchase",
                "login",
            ]
        ),
        "page_url": nonempty,
        "device": st.sampled_from(["desktop", "mobile", "tablet"]),
        "country": upper_country,
    },
    optional={
        "customer_id": nullable_text,
        "referrer": nullable_text,
        "product_id": nullable_text,
        "search_query": nullable_text,
        "user_agent": nullable_text,
    },
)

startup_records: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "startup_id": nonempty,
        "name": nonempty,
        "sector": st.sampled_from(["fintech", "ai", "climate", "saas", "proptech"]),
        "country": upper_country,
        "founded_date": st.dates().map(lambda d: d.isoformat()),
        "status": st.sampled_from(["active", "acquired", "ipo", "closed"]),
        "total_funding_usd": st.integers(min_value=0, max_value=10**12)
        | st.floats(min_value=0, max_value=1e15, allow_nan=False),
        "employees": st.integers(min_value=0, max_value=10**6),
        "updated_at": utc_datetimes.map(rfc3339),
    },
    optional={
        "city": nullable_text,
        "last_round": st.sampled_from(["seed", "series_a", "growth", None]),
        "last_round_date": st.none() | st.dates().map(lambda d: d.isoformat()),
        "website": nullable_text,
    },
)

RECORDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "clickstream_event": clickstream_records,
    "startup": startup_records,
}
#: a value of the wrong JSON type for each kind of field
wrong_type = st.one_of(
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


def _check(violation: ContractViolation, contract: str) -> None:
    assert violation.contract == contract
    assert violation.field and violation.reason
    assert violation.field in str(violation) and violation.reason in str(violation)


@pytest.mark.parametrize("contract", sorted(RECORDS))
@fuzz(60)
@given(data=st.data())
def test_valid_records_pass(contract: str, data: st.DataObject) -> None:
    validate(contract, data.draw(RECORDS[contract]))


@pytest.mark.parametrize("contract", sorted(RECORDS))
@fuzz(80)
@given(data=st.data())
def test_one_broken_field_is_named(contract: str, data: st.DataObject) -> None:
    record: dict[str, Any] = data.draw(RECORDS[contract])
    key = data.draw(st.sampled_from(sorted(record)))
    how = data.draw(st.sampled_from(["delete", "wrong_type"]))
    if how == "delete" and record.get(key, 0) is not None and key not in _OPTIONAL[contract]:
        del record[key]
    else:
        record[key] = data.draw(wrong_type)
    with pytest.raises(ContractViolation) as info:
        validate(contract, record)
    _check(info.value, contract)
    assert info.value.field == key


_OPTIONAL = {
    "clickstream_event": {"customer_id", "referrer", "product_id", "search_query", "user_agent"},
    "startup": {"city", "last_round", "last_round_date", "website"},
}


@pytest.mark.parametrize("contract", sorted(RECORDS))
@fuzz(60)
@given(data=st.data())
def test_unknown_fields_are_rejected(contract: str, data: st.DataObject) -> None:
    record: dict[str, Any] = data.draw(RECORDS[contract])
    extra = data.draw(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in record and k not in _OPTIONAL[contract])
    )
    record[extra] = data.draw(json_values)
    with pytest.raises(ContractViolation) as info:
        validate(contract, record)
    _check(info.value, contract)
    assert repr(extra) in info.value.reason  # the unknown key, as jsonschema quotes it


@pytest.mark.parametrize("contract", ["clickstream_event", "startup", "app_event", "app_event_batch"])
@fuzz(150)
@given(value=json_values)
def test_any_json_passes_or_raises_contract_violation(contract: str, value: Any) -> None:
    try:
        validate(contract, value)
    except ContractViolation as violation:
        _check(violation, contract)


@fuzz(150)
@given(
    st.dictionaries(
        st.sampled_from(
            ["event_id", "event_ts", "country", "platform", "event_type", "price", "rating", "x"]
        ),
        json_values,
    )
)
def test_app_event_dicts_pass_or_raise_contract_violation(value: dict[str, Any]) -> None:
    try:
        validate("app_event", value)
    except ContractViolation as violation:
        _check(violation, "app_event")
