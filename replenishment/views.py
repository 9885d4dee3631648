"""Stored forecasts as a customer reads them: the item's name and a reason in their language.

The language is the owner's (``customers.locale``), also when staff read the product: staff
see what the customer sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from customers import store as customers
from homeloop.db import Conn
from replenishment import store
from replenishment.reasons import language, reason

__all__ = ["ForecastView", "ProductForecasts", "product_forecasts"]


@dataclass(frozen=True, slots=True)
class ForecastView:
    forecast: store.StoredForecast
    item_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProductForecasts:
    product_id: int
    locale: str
    forecasts: list[ForecastView]


def product_forecasts(conn: Conn, product: customers.ProductInstance) -> ProductForecasts:
    """The product's stored forecasts, soonest due first, worded for its owner."""
    locale = customers.locale_of(conn, product.owner_id)
    zh = language(locale) == "zh"
    views = [ForecastView(f, name_zh if zh else name,
                          reason(f.kind, f.basis, f.days_left, f.prior_weight, locale))
             for f, name, name_zh in store.list_forecasts(conn, product.id)]
    return ProductForecasts(product.id, locale, views)
