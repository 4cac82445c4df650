"""Sales contract: the Firestore order document and its daily Parquet export.

Orders live in Firestore as ``sales/{order_id}`` documents with their line items
nested (what the application writes). ``export_sales`` flattens them into one
Parquet row per line item, which is what lands in ``bronze/sales/dt=YYYY-MM-DD/``.
"""

from __future__ import annotations

import pyarrow as pa

CHANNELS = ("web", "app", "store", "marketplace")
ORDER_STATUSES = ("completed", "refunded", "cancelled")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "BRL", "INR")

#: One row per order line, as exported to bronze/sales (Parquet).
SALES_LINE_SCHEMA = pa.schema(
    [
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("line_no", pa.int32(), nullable=False),
        pa.field("order_ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("customer_country", pa.string(), nullable=False),
        pa.field("customer_segment", pa.string(), nullable=False),
        pa.field("store_id", pa.string(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("fx_rate_to_usd", pa.float64(), nullable=False),
        pa.field("product_id", pa.string(), nullable=False),
        pa.field("product_name", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("quantity", pa.int32(), nullable=False),
        pa.field("unit_price", pa.float64(), nullable=False),
        #: an amount in ``currency`` taken off the line: net = quantity * unit_price - discount
        pa.field("discount", pa.float64(), nullable=False),
    ],
    metadata={"contract": "sales_line", "version": "1"},
)

#: ``line_no`` and ``quantity`` are int32 in the Parquet export
INT32_MAX = 2**31 - 1
#: the largest unit price (in the order's currency) and order amount (in USD) an order may carry:
#: amounts stay exact in BigQuery's NUMERIC, and an order's micro-dollars (the sales ledger's unit,
#: an integer) stay far inside Firestore's 64-bit integers
MAX_UNIT_PRICE = 1e12
MAX_ORDER_USD = 1e9

#: Fields of the Firestore order document (``sales/{order_id}``); ``items`` is a list of maps
#: with line_no, product_id, product_name, category, quantity, unit_price, discount.
ORDER_DOCUMENT_FIELDS = (
    "order_id",
    "order_ts",
    "customer_id",
    "customer_country",
    "customer_segment",
    "store_id",
    "channel",
    "status",
    "currency",
    "fx_rate_to_usd",
    "items",
)
ORDER_ITEM_FIELDS = (
    "line_no",
    "product_id",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "discount",
)
