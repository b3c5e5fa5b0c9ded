"""Client-side validation remembers scalar arguments it found valid; that must never let a bad one through."""

from __future__ import annotations

import pytest

from truex_ext.errors import InvalidParameterError
from truex_ext.resources import OPERATIONS
from truex_ext.validation import validate_request

LIST_ORDERS = OPERATIONS["list_orders"]


def test_a_remembered_valid_value_does_not_excuse_another_value() -> None:
    validate_request(LIST_ORDERS, {"size": 10})
    validate_request(LIST_ORDERS, {"size": 10})  # the remembered path
    with pytest.raises(InvalidParameterError) as bad:
        validate_request(LIST_ORDERS, {"size": 1000})
    assert bad.value.field == "size"


def test_true_is_not_taken_for_a_remembered_1() -> None:
    # True == 1 and hash(True) == hash(1): the memo must key on the type too.
    validate_request(LIST_ORDERS, {"size": 1})
    with pytest.raises(InvalidParameterError, match="must be of type integer, not bool"):
        validate_request(LIST_ORDERS, {"size": True})


def test_the_same_value_is_checked_again_for_another_operation_or_parameter() -> None:
    balances = OPERATIONS["list_balances"]
    validate_request(LIST_ORDERS, {"size": 100})
    assert "client_id" in balances.params
    with pytest.raises(InvalidParameterError) as bad:
        validate_request(balances, {"client_id": "0"})
    assert bad.value.field == "client_id"
    validate_request(balances, {"client_id": "300000000000000001"})
    with pytest.raises(InvalidParameterError):
        validate_request(balances, {"client_id": "0"})  # still refused after a valid one was remembered


def test_the_examples_in_the_validation_docstrings_hold() -> None:
    import doctest

    import truex_ext.validation

    result = doctest.testmod(truex_ext.validation)
    assert result.attempted >= 2 and result.failed == 0
