"""Dates and times a share-link visitor's picker may send: proper ISO dates (or times)
that the picker offers, within its ``min_date`` / ``max_date``, not among its
``disabled_dates`` and, when it names ``enabled_dates``, among those."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from typing import Any

__all__ = ("date_refusal", "datetime_refusal", "ms")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: characters an ISO date, datetime or time from a picker has at most
_ISO_LIMIT = 40
#: dates a MultipleDatePicker sends at most
_MANY_LIMIT = 10_000


def ms(value: Any) -> float | None:
    """A slider bound or a picker's limit as milliseconds since the epoch (a number as it
    is), or None if it is none of these."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (aware - _EPOCH).total_seconds() * 1000
    if isinstance(value, date):
        return ms(datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        parsed = _parse(value, datetime)
        return None if parsed is None else ms(parsed)
    return None


def _parse(raw: Any, kind: type) -> Any:
    if not isinstance(raw, str) or len(raw) > _ISO_LIMIT:
        return None
    try:
        if kind is date:
            return date.fromisoformat(raw)
        if kind is time:
            return time.fromisoformat(raw)
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _values(raw: Any, pair: bool, many: bool) -> list[Any] | None:
    if pair:
        return raw if isinstance(raw, list) and len(raw) == 2 else None
    if many:
        return raw if isinstance(raw, list) and len(raw) <= _MANY_LIMIT else None
    return raw if isinstance(raw, list) else [raw]


def _as_day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        parsed = _parse(value, date) or _parse(value, datetime)
        return parsed.date() if isinstance(parsed, datetime) else parsed
    stamp = ms(value)
    return None if stamp is None else datetime.fromtimestamp(stamp / 1000, UTC).date()


def _offered(model: Any, day: date) -> bool:
    low, high = _as_day(model.min_date), _as_day(model.max_date)
    if (low is not None and day < low) or (high is not None and day > high):
        return False

    def among(items: Any) -> bool:
        for item in items or ():
            if isinstance(item, tuple | list) and len(item) == 2:
                start, end = _as_day(item[0]), _as_day(item[1])
                if start is not None and end is not None and start <= day <= end:
                    return True
            elif _as_day(item) == day:
                return True
        return False

    if among(model.disabled_dates):
        return False
    return model.enabled_dates is None or among(model.enabled_dates)


def date_refusal(model: Any, raw: Any, pair: bool = False, many: bool = False) -> str | None:
    """Why raw is not a date (a pair, a list of dates) that model, a date picker, offers."""
    values = _values(raw, pair, many)
    if values is None:
        return "not the dates the picker sends"
    days = [_parse(v, date) for v in values]
    if any(d is None for d in days):
        return "not an ISO date"
    if not all(_offered(model, d) for d in days):
        return "a date the picker does not offer"
    if pair and days[0] > days[1]:
        return "a range that ends before it starts"
    return None


def datetime_refusal(
    model: Any, raw: Any, pair: bool = False, many: bool = False, of: type = datetime
) -> str | None:
    """Why raw is not a datetime (or time, with ``of=time``) that model's picker sends: an
    ISO text or a finite number of milliseconds, within the picker's own limits."""
    values = _values(raw, pair, many)
    if values is None:
        return "not the values the picker sends"
    for value in values:
        number = ms(value) if isinstance(value, int | float) else None
        parsed = _parse(value, of)
        if number is None and parsed is None:
            return "not an ISO date and time, nor a number of milliseconds"
        if of is datetime:
            day = parsed.date() if parsed is not None else _as_day(number)
            if day is None or not _offered(model, day):
                return "a date the picker does not offer"
    return None
