"""Notebook 10's queries on a real local warehouse: a few hundred lines of the sample backfilled by
COPY (helpers.analytics.backfill), then each query's answer checked against the same lines computed
with pandas, through the Data API and through awswrangler.

The warehouse, the table and the staged file get names of their own, so that other test modules in
the shared local cloud never see them.
"""

from __future__ import annotations

import uuid

import awswrangler as wr
import numpy as np
import pandas as pd
import pytest

from helpers import analytics, aws, batch, client, data, storage, warehouse
from tests.conftest import own_names

pytestmark = pytest.mark.integration

# The invoice-line tables as notebook 06 creates them.
COLUMNS = """eventid varchar(1024) not null, invoiceno varchar(16) not null, stockcode varchar(32) not null,
    description varchar(4000), quantity integer not null, invoicedate timestamp not null,
    unitprice decimal(12,3) not null, customerid varchar(32), country varchar(256) not null,
    loaded_at timestamp default getdate()"""
LAYOUT = "diststyle key distkey (invoiceno) compound sortkey (invoicedate)"


@pytest.fixture(scope="module")
def names(local_cloud):
    tag = uuid.uuid4().hex[:6]
    with own_names(
        local_cloud, redshift_namespace=f"an-{tag}", redshift_workgroup=f"an-{tag}", redshift_stream_table=f"lines_{tag}"
    ) as (suffixed, patch):
        patch.setattr(warehouse, "_current", None)
        yield suffixed


@pytest.fixture(scope="module")
def lines(tmp_path_factory, names):
    """Every 12th line of the sample (a few hundred, over all thirteen months), as a file of its own."""
    path = tmp_path_factory.mktemp("analytics") / f"{names.redshift_stream_table}.csv"
    data.load_invoices(data.sample_path()).iloc[::12].to_csv(path, index=False)
    return data.load_invoices(path), path


@pytest.fixture(scope="module")
def loaded(names, lines):
    """The table, notebook 07's view, three lines "delivered by Firehose", then the backfill twice."""
    frame, path = lines
    wh = warehouse.ensure_warehouse()
    storage.ensure_bucket(aws.bucket(), "us-east-1")
    table = f"public.{names.redshift_stream_table}"
    warehouse.run_sql(f"create table {table} ({COLUMNS}) {LAYOUT}")
    warehouse.run_sql(
        f"""create view {analytics.analysed_relation()} as select * from (
            select *, row_number() over (partition by eventid order by loaded_at) as copy_number from {table})
            where copy_number = 1"""
    )
    for event in client.to_events(frame.head(3), path.name):
        values = {key.lower(): value for key, value in event.items()}
        warehouse.run_sql(
            f"insert into {table} values (:eventid, :invoiceno, :stockcode, :description, :quantity, "
            ":invoicedate, :unitprice, :customerid, :country, getdate())",
            values,
        )
    role = batch.ensure_copy_role(wh)
    first = analytics.backfill(table, role, path)
    second = analytics.backfill(table, role, path)
    return first, second, analytics.analysed_relation()


def test_the_backfill_inserts_only_the_events_the_table_lacks_and_is_idempotent(lines, loaded, names):
    frame, path = lines
    first, second, relation = loaded
    assert 300 <= len(frame) <= 500
    assert (first.source_rows, first.inserted) == (len(frame), len(frame) - 3)
    assert (second.source_rows, second.inserted) == (len(frame), 0)
    counts = warehouse.run_sql(f"select count(*) as n, count(distinct eventid) as events from public.{names.redshift_stream_table}")
    assert counts.iloc[0].tolist() == [len(frame), len(frame)]
    staged = aws.client("s3").list_objects_v2(Bucket=aws.bucket(), Prefix=first.staged_at.split("/", 3)[3])
    assert staged["KeyCount"] == 0, "the staged CSV is deleted after the load"


def test_the_view_holds_the_files_lines_and_revenue_once(lines, loaded):
    frame, path = lines
    totals = warehouse.run_sql(analytics.file_totals_sql(loaded[2]), {"file": path.name})
    assert totals.at[0, "lines"] == len(frame)
    assert totals.at[0, "net_revenue"] == pytest.approx(data.line_revenue(frame).sum(), abs=0.005)


def test_blank_description_and_customer_load_as_null(lines, loaded):
    frame, path = lines
    nulls = warehouse.run_sql(
        f"select sum(case when customerid is null then 1 else 0 end) as customers, "
        f"sum(case when description is null then 1 else 0 end) as descriptions from {loaded[2]}"
    )
    assert nulls.iloc[0].tolist() == [frame["CustomerID"].isna().sum(), frame["Description"].isna().sum()]


def revenue(frame: pd.DataFrame) -> pd.Series:
    return frame["Quantity"] * frame["UnitPrice"]


def cancelled(frame: pd.DataFrame) -> pd.Series:
    return frame["InvoiceNo"].str.startswith("C")


def sale_lines(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~cancelled(frame) & (frame["Quantity"] > 0)]


def test_revenue_per_month(lines, loaded):
    frame, _ = lines
    months = warehouse.run_sql(analytics.revenue_per_month_sql(loaded[2]))
    month = frame["InvoiceDate"].dt.strftime("%Y-%m")
    expected = pd.DataFrame(
        {
            "sales": revenue(frame).where(~cancelled(frame), 0).groupby(month).sum(),
            "cancelled": revenue(frame).where(cancelled(frame), 0).groupby(month).sum(),
            "net_revenue": revenue(frame).groupby(month).sum(),
            "invoices": frame.groupby(month)["InvoiceNo"].nunique(),
        }
    )
    assert months["month"].tolist() == expected.index.tolist() and len(months) == 13
    for column in expected:
        np.testing.assert_allclose(months[column], expected[column], atol=1e-6)
    assert (months["cancelled"] <= 0).all() and months["cancelled"].sum() < 0


def test_revenue_per_country_through_awswrangler_as_through_the_helper(lines, loaded):
    frame, _ = lines
    wh = warehouse.current()
    con = wr.data_api.redshift.connect(
        workgroup_name=wh.workgroup, database=wh.database, secret_arn=wh.secret_arn, boto3_session=aws.session()
    )
    sql = analytics.revenue_per_country_sql(loaded[2])
    countries = wr.data_api.redshift.read_sql_query(sql, con=con)
    pd.testing.assert_frame_equal(countries, warehouse.run_sql(sql))
    sales = sale_lines(frame)
    expected = pd.DataFrame(
        {
            "net_revenue": revenue(frame).groupby(frame["Country"]).sum(),
            "invoices": sales.groupby("Country")["InvoiceNo"].nunique(),
            "customers": frame.groupby("Country")["CustomerID"].nunique(),  # NaN (no customer) not counted
        }
    ).fillna(0)
    got = countries.set_index("country").loc[expected.index]
    np.testing.assert_allclose(got["net_revenue"], expected["net_revenue"], atol=1e-6)
    assert got["invoices"].tolist() == expected["invoices"].astype(int).tolist()
    assert got["customers"].tolist() == expected["customers"].astype(int).tolist()
    assert countries["net_revenue"].is_monotonic_decreasing


def test_top_products_leave_services_out_and_deduct_cancellations(lines, loaded):
    frame, _ = lines
    products = warehouse.run_sql(analytics.top_products_sql(loaded[2], 5))
    goods = frame[frame["StockCode"].str.match(r"^\d{5}")]
    expected = (
        pd.DataFrame({"stockcode": goods["StockCode"], "net_revenue": revenue(goods), "units": goods["Quantity"]})
        .groupby("stockcode").sum().reset_index()
        .sort_values(["net_revenue", "stockcode"], ascending=[False, True]).head(5)
    )
    assert products["stockcode"].tolist() == expected["stockcode"].tolist()
    np.testing.assert_allclose(products["net_revenue"], expected["net_revenue"], atol=1e-6)
    assert products["units"].tolist() == expected["units"].tolist()


def test_cancellation_rate(lines, loaded):
    frame, _ = lines
    months = warehouse.run_sql(analytics.cancellations_sql(loaded[2]))
    month = frame["InvoiceDate"].dt.strftime("%Y-%m")
    invoices = frame.groupby(month)["InvoiceNo"].nunique()
    cancellations = frame[cancelled(frame)].groupby(month[cancelled(frame)])["InvoiceNo"].nunique().reindex(invoices.index, fill_value=0)
    assert months["cancellations"].tolist() == cancellations.tolist() and cancellations.sum() > 0
    np.testing.assert_allclose(months["cancellation_rate"], cancellations / invoices, atol=1e-12)
    np.testing.assert_allclose(months["cancelled_value"], (-revenue(frame)).where(cancelled(frame), 0).groupby(month).sum(), atol=1e-6)


def test_basket_size_distribution(lines, loaded):
    frame, _ = lines
    baskets = warehouse.run_sql(analytics.basket_size_sql(loaded[2]))
    per_invoice = sale_lines(frame).groupby("InvoiceNo").agg(lines=("StockCode", "size"), units=("Quantity", "sum"))
    for measure in ("lines", "units"):
        got = baskets[baskets["measure"] == measure].set_index("size")["invoices"]
        assert got.to_dict() == per_invoice[measure].value_counts().sort_index().to_dict()


def test_customer_cohorts(lines, loaded):
    frame, _ = lines
    cohorts = warehouse.run_sql(analytics.cohort_sql(loaded[2]))
    buyers = sale_lines(frame).dropna(subset=["CustomerID"])
    months = buyers.assign(month=buyers["InvoiceDate"].dt.to_period("M"))[["CustomerID", "month"]].drop_duplicates()
    first = months.groupby("CustomerID")["month"].transform("min")
    months = months.assign(cohort=first.dt.strftime("%Y-%m"), months_since=(months["month"] - first).apply(lambda d: d.n))
    expected = months.groupby(["cohort", "months_since"]).size()
    assert cohorts.set_index(["cohort", "months_since"])["customers"].to_dict() == expected.to_dict()
    last_month = frame["InvoiceDate"].max().strftime("%Y-%m")
    retention = analytics.cohort_retention(cohorts, last_month)
    assert (retention[0] == 1).all() and retention.attrs["sizes"].sum() == buyers["CustomerID"].nunique()


def test_a_blank_customer_is_not_a_customer(lines, loaded, names):
    frame, _ = lines
    table = f"public.{names.redshift_stream_table}"
    before = warehouse.run_sql(analytics.overview_sql(loaded[2]))
    warehouse.run_sql(
        f"insert into {table} (eventid, invoiceno, stockcode, quantity, invoicedate, unitprice, customerid, country) "
        "values ('blank-customer', '699999', '12345', 1, '2011-06-01 10:00:00', 1.5, '  ', 'France')"
    )
    try:
        after = warehouse.run_sql(analytics.overview_sql(loaded[2]))
    finally:
        warehouse.run_sql(f"delete from {table} where eventid = 'blank-customer'")
    assert after.at[0, "customers"] == before.at[0, "customers"] == frame["CustomerID"].nunique()
    assert after.at[0, "lines_without_customer"] == before.at[0, "lines_without_customer"] + 1
