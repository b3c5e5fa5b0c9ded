"""The ``query`` filter of ``orders.list``, checked before it is sent.

The exchange takes a JSON string::

    {"columns": [{"name": "status", "filter": [{"$in": ["FILLED", "CANCELED"]}]},
                 {"name": "side", "filter": [{"$eq": "BUY"}]}]}

``name`` is one of ``status``, ``side``, ``type``, ``instrument_id``; each filter item is ``{"$in": [...]}``
or ``{"$eq": "..."}``; columns are ANDed, the values of one column ORed. Values of ``status``, ``side`` and
``type`` are the API's upper-case enum values (``FILLED``, not ``filled``). ``orders.list(query=...)``
takes the string or a dict (sent as its compact JSON); :func:`check_order_query` says what is wrong with
one before anything is sent (the ``truex`` command line runs it on ``--query``).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidParameterError

__all__ = ["ORDER_QUERY_COLUMNS", "check_order_query"]

#: The columns a query may filter on, and the operators of a filter item.
ORDER_QUERY_COLUMNS = ("status", "side", "type", "instrument_id")
_OPERATORS = ("$in", "$eq")


def _enum_values(column: str) -> tuple[str, ...] | None:
    from truex_client.models import OrderStatus, OrderType, Side

    enums: dict[str, Any] = {"status": OrderStatus, "side": Side, "type": OrderType}
    enum = enums.get(column)
    return tuple(str(m.value) for m in enum) if enum is not None else None


def check_order_query(query: str | dict[str, Any]) -> str:
    """The query as the compact JSON string the API takes; :class:`InvalidParameterError` when it is wrong.

    >>> check_order_query({"columns": [{"name": "side", "filter": [{"$eq": "BUY"}]}]})
    '{"columns":[{"name":"side","filter":[{"$eq":"BUY"}]}]}'
    >>> check_order_query('{"columns": [{"name": "side", "filter": [{"$eq": "buy"}]}]}')
    Traceback (most recent call last):
    truex_ext.errors.InvalidParameterError: query: columns[0].filter[0]: 'buy' is not a side; valid values: BUY, SELL
    """
    if isinstance(query, str):
        try:
            data = json.loads(query)
        except ValueError as exc:
            raise InvalidParameterError("query", f"is not valid JSON ({exc})") from None
    else:
        data = query
    if not isinstance(data, dict):
        raise InvalidParameterError("query", 'must be a JSON object {"columns": [...]}')
    unknown = sorted(set(data) - {"columns"})
    if unknown:
        raise InvalidParameterError("query", f"unknown key {unknown[0]!r}; valid keys: columns")
    columns = data.get("columns")
    if not isinstance(columns, list) or not columns:
        raise InvalidParameterError("query", '"columns" must be a non-empty list')
    for i, column in enumerate(columns):
        where = f"columns[{i}]"
        if not isinstance(column, dict):
            raise InvalidParameterError("query", f"{where} must be an object with name and filter")
        extra = sorted(set(column) - {"name", "filter"})
        if extra:
            raise InvalidParameterError(
                "query", f"{where}: unknown key {extra[0]!r}; valid keys: name, filter"
            )
        name = column.get("name")
        if name not in ORDER_QUERY_COLUMNS:
            raise InvalidParameterError(
                "query",
                f"{where}.name {name!r} is not a column; valid names: {', '.join(ORDER_QUERY_COLUMNS)}",
            )
        filters = column.get("filter")
        if not isinstance(filters, list) or not filters:
            raise InvalidParameterError("query", f"{where}.filter must be a non-empty list")
        valid = _enum_values(name)
        for j, item in enumerate(filters):
            at = f"{where}.filter[{j}]"
            if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in _OPERATORS:
                raise InvalidParameterError(
                    "query", f'{at} must be {{"$in": [...]}} or {{"$eq": "..."}}; valid operators: $in, $eq'
                )
            ((op, operand),) = item.items()
            values = operand if op == "$in" else [operand]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise InvalidParameterError(
                    "query", f"{at}.{op} must be {'a list of strings' if op == '$in' else 'a string'}"
                )
            for value in values:
                if valid is not None and value not in valid:
                    raise InvalidParameterError(
                        "query", f"{at}: {value!r} is not a {name}; valid values: {', '.join(valid)}"
                    )
    return json.dumps(data, separators=(",", ":"))
