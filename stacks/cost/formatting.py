"""Amounts as the estimates show them: money, list prices, counts."""
from __future__ import annotations

import math


def _money(amount: float, decimals: int | None = None) -> str:
    """``$16.43``; without ``decimals``, three significant digits below a dollar (``$0.045``, ``$0.000243``)."""
    if decimals is not None:
        return f"${amount:,.{decimals}f}"
    digits = 2 if amount == 0 else max(2, 2 - math.floor(math.log10(abs(amount))))
    return _at_least_cents(f"{amount:,.{digits}f}")


def _rate(amount: float) -> str:
    """A list price as the price file states it: ``$0.0000166667``, ``$0.40``."""
    return _at_least_cents(f"{amount:.10f}")


def _at_least_cents(number: str) -> str:
    whole, _, fraction = number.partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _signed(amount: float) -> str:
    if abs(amount) < 0.005:
        return "$0.00"
    return f"{'+' if amount > 0 else '−'}{_money(abs(amount), 2)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _count(count: float) -> str:
    return "" if count == 1 else f"{count:g} × "
