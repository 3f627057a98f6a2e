"""helpers.analytics without a cloud: its SQL is Redshift SQL the local warehouse translates, the
shaping of results, the backfill's CSV and statements, and the charts' files.

What the SQL returns on a warehouse is checked in tests/integration/test_analytics.py.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
import sqlglot

from helpers import analytics, config
from helpers.localcloud.warehouse.translate import RelationName, placeholder_names, translate

RELATION = "public.invoice_lines_deduplicated"
QUERIES = {
    "revenue_per_month": analytics.revenue_per_month_sql,
    "revenue_per_country": analytics.revenue_per_country_sql,
    "top_products": analytics.top_products_sql,
    "cancellations": analytics.cancellations_sql,
    "basket_size": analytics.basket_size_sql,
    "cohort": analytics.cohort_sql,
    "overview": analytics.overview_sql,
    "file_totals": analytics.file_totals_sql,
}


class InvoiceLinesCatalog:
    """A database ``dev`` with the view the notebook reads, typed as notebook 06 declares the tables."""

    database = "dev"
    user = "admin"
    columns = {
        "eventid": "VARCHAR", "invoiceno": "VARCHAR", "stockcode": "VARCHAR", "description": "VARCHAR",
        "quantity": "INTEGER", "invoicedate": "TIMESTAMP", "unitprice": "DECIMAL(12,3)", "customerid": "VARCHAR",
        "country": "VARCHAR", "loaded_at": "TIMESTAMP",
    }

    def resolve(self, schema, name):
        return RelationName("dev", "public", name) if name in ("invoice_lines_deduplicated", "invoice_lines") else None

    def creation_schema(self):
        return "public"

    def column_types(self, relation):
        return self.columns


@pytest.mark.parametrize("name", QUERIES)
def test_each_query_is_one_redshift_select_the_local_warehouse_translates(name):
    sql = QUERIES[name](RELATION)
    assert len(sqlglot.parse(sql, read="redshift")) == 1
    translation = translate(sql, InvoiceLinesCatalog())
    assert translation.returns_rows and translation.query_type == "SELECT"


@pytest.mark.parametrize("relation", ["x; drop table y", "public.t --", "a.b.c", "", "1table", "public.\"t\""])
def test_a_relation_that_is_not_a_plain_name_is_refused(relation):
    with pytest.raises(ValueError, match="not a table or view name"):
        analytics.revenue_per_month_sql(relation)


def test_the_relation_is_the_deduplicated_view_of_notebook_07():
    assert analytics.analysed_relation() == f"public.{config.settings().names.redshift_stream_table}_deduplicated"


def test_file_totals_take_the_file_as_a_parameter():
    assert placeholder_names(analytics.file_totals_sql(RELATION)) == ["file"]


def test_top_products_limit_is_bounded():
    assert "limit 5" in analytics.top_products_sql(RELATION, 5)
    with pytest.raises(ValueError, match="choose 1 to 100"):
        analytics.top_products_sql(RELATION, 0)


def test_the_data_rules_are_in_the_sql():
    """Cancellations by the C prefix (Redshift LIKE is case-sensitive), products by five digits,
    blank customers are not customers."""
    assert "invoiceno like 'C%'" in analytics.cancellations_sql(RELATION)
    assert "stockcode ~ '^[0-9]{5}'" in analytics.top_products_sql(RELATION)
    assert "trim(customerid) <> ''" in analytics.cohort_sql(RELATION)
    assert "datediff(month," in analytics.cohort_sql(RELATION)


def cohort_rows(rows):
    return pd.DataFrame(rows, columns=["cohort", "months_since", "customers"])


def test_cohort_retention_shares_zeros_and_months_not_observed_yet():
    rows = cohort_rows([("2011-01", 0, 10), ("2011-01", 2, 4), ("2011-02", 0, 5), ("2011-02", 1, 1), ("2011-03", 0, 2)])
    retention = analytics.cohort_retention(rows, last_month="2011-03")
    assert list(retention.columns) == [0, 1, 2]
    assert retention.loc["2011-01"].tolist() == [1.0, 0.0, 0.4]  # month 1 observed, nobody came back
    assert retention.loc["2011-02", 1] == pytest.approx(0.2) and np.isnan(retention.loc["2011-02", 2])
    assert np.isnan(retention.loc["2011-03", 1])  # its first month is the data's last
    assert retention.attrs["sizes"].to_dict() == {"2011-01": 10, "2011-02": 5, "2011-03": 2}


def test_cohort_retention_needs_month_zero_and_a_consistent_last_month():
    with pytest.raises(ValueError, match="month 0"):
        analytics.cohort_retention(cohort_rows([("2011-01", 1, 3)]), last_month="2011-03")
    with pytest.raises(ValueError, match="no cohort"):
        analytics.cohort_retention(cohort_rows([]), last_month="2011-03")
    with pytest.raises(ValueError, match="after the last month"):
        analytics.cohort_retention(cohort_rows([("2011-04", 0, 3)]), last_month="2011-03")


def test_weighted_quantile_reads_a_distribution():
    sizes, counts = pd.Series([1, 2, 10]), pd.Series([5, 4, 1])
    assert analytics.weighted_quantile(sizes, counts, 0.5) == 1  # 5 of 10 invoices have one line
    assert analytics.weighted_quantile(sizes, counts, 0.9) == 2
    assert analytics.weighted_quantile(sizes, counts, 1.0) == 10
    assert analytics.weighted_quantile(pd.Series([3, 1]), pd.Series([1, 1]), 0.5) == 1  # order does not matter
    with pytest.raises(ValueError, match="empty"):
        analytics.weighted_quantile(pd.Series([1]), pd.Series([0]), 0.5)
    with pytest.raises(ValueError, match="choose 0 to 1"):
        analytics.weighted_quantile(sizes, counts, 1.5)


def test_basket_summary_per_measure():
    baskets = pd.DataFrame(
        {"measure": ["lines", "lines", "units", "units"], "size": [1, 3, 2, 50], "invoices": [2, 1, 2, 1]}
    )
    summary = analytics.basket_summary(baskets)
    assert summary.loc["lines"].to_dict() == {"invoices": 3, "median": 1, "90th percentile": 3, "largest": 3}
    assert summary.loc["units", "largest"] == 50


def test_product_label_is_tidied_and_shortened():
    assert analytics.product_label("85123A", "WHITE  HANGING HEART ") == "WHITE HANGING HEART (85123A)"
    assert analytics.product_label("22", None) == "(no description) (22)"
    long = analytics.product_label("1", "X" * 50, width=10)
    assert long == "XXXXXXXXX… (1)"


def test_backfill_csv_has_the_events_ids_and_the_tables_columns():
    invoices = pd.DataFrame(
        {
            "InvoiceNo": ["600001", "C600002"],
            "StockCode": ["12345", "POST"],
            "Description": ["CAFÉ MUG, \"LARGE\" ", None],
            "Quantity": [2, -1],
            "InvoiceDate": pd.to_datetime(["2010-12-01 08:26", "2011-01-02 10:00"]),
            "UnitPrice": [2.1, 18.0],
            "CustomerID": ["20148", None],
            "Country": ["United Kingdom", "France"],
        },
        index=[0, 7],  # positions in the file: EventIds are file:row (1-based)
    )
    body = analytics.backfill_csv(invoices, "sample.csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows == [
        ["sample.csv:1", "600001", "12345", "CAFÉ MUG, \"LARGE\" ", "2", "2010-12-01 08:26:00", "2.1", "20148", "United Kingdom"],
        ["sample.csv:8", "C600002", "POST", "", "-1", "2011-01-02 10:00:00", "18.0", "", "France"],
    ]
    assert len(rows[0]) == len(analytics.LOAD_COLUMNS)


def test_backfill_is_one_transaction_that_inserts_only_missing_events():
    statements = analytics.backfill_statements("public.invoice_lines", "s3://b/k.csv", "arn:aws:iam::1:role/r")
    assert len(statements) == 3 and statements[0].startswith("create temp table backfill_stage")
    assert "from 's3://b/k.csv' iam_role 'arn:aws:iam::1:role/r' format as csv emptyasnull" in statements[1]
    assert "where not exists (select 1 from public.invoice_lines t where t.eventid = s.eventid)" in statements[2]
    with pytest.raises(ValueError):
        analytics.backfill_statements("t; drop table x", "s3://b/k.csv", "arn")


@pytest.fixture
def figures(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "FIGURES_DIR", tmp_path)
    return tmp_path


def test_each_chart_is_saved_as_a_png_named_after_notebook_10(figures):
    months = pd.DataFrame(
        {"month": ["2011-01", "2011-02"], "sales": [100.0, 80.0], "cancelled": [-5.0, 0.0], "net_revenue": [95.0, 80.0],
         "invoices": [3, 2], "cancellations": [1, 0], "cancellation_rate": [1 / 3, 0.0],
         "cancelled_value": [5.0, 0.0], "sales_value": [100.0, 80.0]}
    )
    countries = pd.DataFrame({"country": ["United Kingdom", "France"], "net_revenue": [1000.0, 10.0], "invoices": [5, 1], "customers": [4, 1]})
    products = pd.DataFrame({"stockcode": ["12345"], "description": ["MUG"], "units": [3], "net_revenue": [9.0], "invoices": [1]})
    baskets = pd.DataFrame({"measure": ["lines", "units"], "size": [2, 7], "invoices": [3, 3]})
    retention = analytics.cohort_retention(cohort_rows([("2011-01", 0, 4), ("2011-01", 1, 1), ("2011-02", 0, 2)]), "2011-02")
    analytics.plot_revenue_per_month(months, RELATION)
    analytics.plot_revenue_per_country(countries, RELATION)
    analytics.plot_top_products(products, RELATION)
    analytics.plot_cancellations(months, RELATION)
    analytics.plot_basket_size(baskets, RELATION)
    analytics.plot_cohorts(retention, RELATION)
    names = sorted(path.name for path in figures.iterdir())
    assert names == [f"10_{what}.png" for what in ("basket_size", "cancellations", "customer_cohorts", "revenue_per_country", "revenue_per_month", "top_products")]
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in figures.iterdir())


def test_a_country_with_negative_net_revenue_keeps_its_bar_on_a_linear_scale(figures):
    countries = pd.DataFrame({"country": ["United Kingdom", "Iceland"], "net_revenue": [1000.0, -20.0], "invoices": [5, 0], "customers": [4, 1]})
    axes = analytics.plot_revenue_per_country(countries, RELATION).axes[0]
    assert axes.get_xscale() == "linear" and len(axes.patches) == 2
    positive = analytics.plot_revenue_per_country(countries.head(1), RELATION).axes[0]
    assert positive.get_xscale() == "log"
