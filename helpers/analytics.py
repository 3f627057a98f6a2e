"""Sales analytics on the warehouse (notebook 10): the SQL of each chart, the charts, and a backfill.

Each ``*_sql`` function returns one Redshift SQL statement over a relation with the columns of the
invoice-line tables of notebook 06 (``invoiceno``, ``stockcode``, ``description``, ``quantity``
INTEGER, ``invoicedate`` TIMESTAMP, ``unitprice`` DECIMAL(12,3), ``customerid``, ``country``). The
statements return only types the Data API sends without conversion (text, BIGINT, DOUBLE
PRECISION), so ``warehouse.run_sql`` and ``awswrangler.data_api.redshift`` give the same frame:
sums are exact DECIMALs in the warehouse and cast to DOUBLE PRECISION only for the chart.

Rules of the data (notebook 01): a cancellation is an invoice whose number starts with ``C`` (its
lines have negative quantities); net revenue is the sum of quantity x unit price over all lines,
cancellations included; about a third of the lines have no customer (NULL, or blank text).

Redshift functions used (SQL reference, https://docs.aws.amazon.com/redshift/latest/dg/):
DATE_TRUNC (r_DATE_TRUNC.html), TO_CHAR (r_TO_CHAR.html), DATEDIFF (r_DATEDIFF_function.html;
here always between first days of months, so it is the number of months between them), LIKE (r_patternmatching_condition_like.html), the POSIX
``~`` operator (pattern-matching-conditions-posix.html), CASE, COUNT(DISTINCT), CAST.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from helpers import aws, client, config, data, warehouse

# A schema-qualified or bare identifier: relations are put into SQL text, so nothing else is accepted.
RELATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
CANCELLATION = "invoiceno like 'C%'"  # the data's rule: a cancellation's InvoiceNo starts with C
SALE_LINE = "invoiceno not like 'C%' and quantity > 0"  # excludes cancellations and stock adjustments
# Products have a five-digit StockCode (85123A); POST, DOT, M, D... are postage, fees and adjustments.
PRODUCT = "stockcode ~ '^[0-9]{5}'"
KNOWN_CUSTOMER = "customerid is not null and trim(customerid) <> ''"
MONTH = "to_char(date_trunc('month', invoicedate), 'YYYY-MM')"
BACKFILL_PREFIX = "analytics-backfill/"  # under the Glue temporary prefix, which the COPY role may read
# The columns loaded, in the tables' order (notebook 06); loaded_at takes its default, the load time.
LOAD_COLUMNS = ("eventid", "invoiceno", "stockcode", "description", "quantity", "invoicedate", "unitprice", "customerid", "country")
EVENT_KEYS = ["EventId", *data.COLUMNS]  # what client.to_events gives each line
STAGE_COLUMNS = (
    "eventid varchar(1024), invoiceno varchar(16), stockcode varchar(32), description varchar(4000), "
    "quantity integer, invoicedate timestamp, unitprice decimal(12,3), customerid varchar(32), country varchar(256)"
)
GBP = FuncFormatter(lambda value, _: f"£{value:,.0f}")
BLUE, RED, GREY = "#4c72b0", "#c44e52", "#8c8c8c"


def analysed_relation() -> str:
    """The view of notebook 07 over the Firehose table: each event once, whichever load brought it."""
    return f"public.{config.settings().names.redshift_stream_table}_deduplicated"


def _checked(relation: str) -> str:
    if not RELATION.fullmatch(relation):
        raise ValueError(f"{relation!r} is not a table or view name (schema.name)")
    return relation


# ---------------------------------------------------------------------------------------------
# The SQL of each chart


def revenue_per_month_sql(relation: str) -> str:
    """Per month: sales, cancellations (negative) and net revenue in GBP, and the invoices."""
    return f"""select {MONTH} as month,
       cast(sum(case when {CANCELLATION} then 0 else quantity * unitprice end) as double precision) as sales,
       cast(sum(case when {CANCELLATION} then quantity * unitprice else 0 end) as double precision) as cancelled,
       cast(sum(quantity * unitprice) as double precision) as net_revenue,
       count(distinct invoiceno) as invoices
from {_checked(relation)}
group by 1
order by 1"""


def revenue_per_country_sql(relation: str) -> str:
    """Per country: net revenue in GBP, sales invoices and known customers; largest first."""
    return f"""select country,
       cast(sum(quantity * unitprice) as double precision) as net_revenue,
       count(distinct case when {SALE_LINE} then invoiceno end) as invoices,
       count(distinct case when {KNOWN_CUSTOMER} then customerid end) as customers
from {_checked(relation)}
group by country
order by net_revenue desc, country"""


def top_products_sql(relation: str, limit: int = 10) -> str:
    """The ``limit`` products of highest net revenue (cancellations deducted), services left out."""
    if not 1 <= limit <= 100:
        raise ValueError(f"limit {limit}: choose 1 to 100")
    return f"""select stockcode,
       max(description) as description,
       sum(quantity) as units,
       cast(sum(quantity * unitprice) as double precision) as net_revenue,
       count(distinct invoiceno) as invoices
from {_checked(relation)}
where {PRODUCT}
group by stockcode
order by net_revenue desc, stockcode
limit {int(limit)}"""


def cancellations_sql(relation: str) -> str:
    """Per month: invoices, cancellation invoices and their share, and cancelled value against sales."""
    return f"""select {MONTH} as month,
       count(distinct invoiceno) as invoices,
       count(distinct case when {CANCELLATION} then invoiceno end) as cancellations,
       cast(count(distinct case when {CANCELLATION} then invoiceno end) as double precision)
           / count(distinct invoiceno) as cancellation_rate,
       cast(sum(case when {CANCELLATION} then -quantity * unitprice else 0 end) as double precision) as cancelled_value,
       cast(sum(case when {CANCELLATION} then 0 else quantity * unitprice end) as double precision) as sales_value
from {_checked(relation)}
group by 1
order by 1"""


def basket_size_sql(relation: str) -> str:
    """The distribution of sales invoices by size: how many invoices have each number of lines
    (``measure = 'lines'``) and each number of units (``measure = 'units'``)."""
    return f"""with baskets as (
    select invoiceno, count(*) as lines, sum(quantity) as units
    from {_checked(relation)}
    where {SALE_LINE}
    group by invoiceno
)
select 'lines' as measure, lines as size, count(*) as invoices from baskets group by lines
union all
select 'units' as measure, units as size, count(*) as invoices from baskets group by units
order by measure, size"""


def cohort_sql(relation: str) -> str:
    """Customers by the month of their first purchase (cohort) and the months since it in which
    they bought again; lines without a customer, cancellations and adjustments left out."""
    return f"""with purchase_months as (
    select customerid, date_trunc('month', invoicedate) as month
    from {_checked(relation)}
    where {KNOWN_CUSTOMER} and {SALE_LINE}
    group by customerid, date_trunc('month', invoicedate)
), cohorts as (
    select customerid, min(month) as cohort_month from purchase_months group by customerid
)
select to_char(c.cohort_month, 'YYYY-MM') as cohort,
       datediff(month, c.cohort_month, p.month) as months_since,
       count(*) as customers
from purchase_months p join cohorts c on c.customerid = p.customerid
group by 1, 2
order by 1, 2"""


def overview_sql(relation: str) -> str:
    """What the relation holds: lines, invoices, customers, lines without a customer, the period."""
    return f"""select count(*) as lines,
       count(distinct invoiceno) as invoices,
       count(distinct case when {CANCELLATION} then invoiceno end) as cancellation_invoices,
       count(distinct case when {KNOWN_CUSTOMER} then customerid end) as customers,
       sum(case when {KNOWN_CUSTOMER} then 0 else 1 end) as lines_without_customer,
       to_char(min(invoicedate), 'YYYY-MM-DD') as first_day,
       to_char(max(invoicedate), 'YYYY-MM-DD') as last_day
from {_checked(relation)}"""


def file_totals_sql(relation: str) -> str:
    """Lines and net revenue of one source file's events: those whose EventId (``file:row``)
    starts with the ``:file`` parameter."""
    return f"""select count(*) as lines, cast(sum(quantity * unitprice) as double precision) as net_revenue
from {_checked(relation)}
where split_part(eventid, ':', 1) = :file"""


# ---------------------------------------------------------------------------------------------
# Shaping the results (pure functions)


def cohort_retention(cohorts: pd.DataFrame, last_month: str) -> pd.DataFrame:
    """The cohort query's rows as a table: one row per cohort, one column per month since the first
    purchase (0 to the oldest cohort's last observable month), each cell the share of the cohort's
    customers who bought in that month: 1 in month 0, 0 when nobody came back, NaN for months after
    ``last_month`` (``YYYY-MM``, the data's last month), not observed yet. ``attrs["sizes"]`` holds
    each cohort's number of customers."""
    if cohorts.empty:
        raise ValueError("no purchase by a known customer: there is no cohort to follow")
    counts = cohorts.pivot_table(index="cohort", columns="months_since", values="customers", aggfunc="sum")
    if 0 not in counts.columns or counts[0].isna().any():
        raise ValueError("every cohort needs its month 0 (the month of its customers' first purchase)")
    last = pd.Period(last_month, freq="M")
    observable = {cohort: (last - pd.Period(cohort, freq="M")).n for cohort in counts.index}
    if min(observable.values()) < 0:
        raise ValueError(f"a cohort starts after the last month {last_month}")
    months = range(max(observable.values()) + 1)
    counts = counts.reindex(columns=months).fillna(0)
    retention = counts.div(counts[0], axis=0)
    for cohort, span in observable.items():
        retention.loc[cohort, span + 1 :] = np.nan
    retention.columns.name = "months since the first purchase"
    retention.attrs["sizes"] = counts[0].astype(int)
    return retention


def weighted_quantile(sizes: pd.Series, counts: pd.Series, q: float) -> float:
    """The ``q`` quantile (lower value) of a distribution given as sizes and how often each occurs."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile {q}: choose 0 to 1")
    order = np.argsort(sizes.to_numpy())
    values, weights = sizes.to_numpy()[order], counts.to_numpy()[order]
    if weights.sum() <= 0:
        raise ValueError("the distribution is empty")
    cumulative = np.cumsum(weights) / weights.sum()
    return float(values[np.searchsorted(cumulative, q - 1e-12)])


def basket_summary(baskets: pd.DataFrame) -> pd.DataFrame:
    """Per measure (lines, units): invoices, median, 90th percentile and largest basket (whole numbers:
    each quantile is a size that occurs)."""
    rows = {}
    for measure, part in baskets.groupby("measure"):
        rows[measure] = {
            "invoices": int(part["invoices"].sum()),
            "median": weighted_quantile(part["size"], part["invoices"], 0.5),
            "90th percentile": weighted_quantile(part["size"], part["invoices"], 0.9),
            "largest": part["size"].max(),
        }
    return pd.DataFrame(rows).T.astype("int64")  # sizes are counts of lines or units


def product_label(stockcode: str, description: Any, width: int = 34) -> str:
    """``DESCRIPTION (stockcode)``, shortened to fit a chart's axis."""
    text = " ".join(str(description).split()) if isinstance(description, str) and description.strip() else "(no description)"
    if len(text) > width:
        text = text[: width - 1].rstrip() + "…"
    return f"{text} ({stockcode})"


# ---------------------------------------------------------------------------------------------
# Charts: each drawn on its own Figure (no pyplot state) and saved as FIGURES_DIR/10_<what>.png


def _save(figure: Figure, what: str, source: str) -> Figure:
    figure.text(0.01, 0.005, f"Source: {source} (Redshift) · SQL: helpers/analytics.py", fontsize=7, color=GREY, va="bottom")
    target = config.FIGURES_DIR / f"10_{what}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=120)
    return figure


def _figure(width: float = 10, height: float = 4.6) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    bottom = 0.22 / height  # a quarter of an inch below the axes for the source line
    figure.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
    return figure


def plot_revenue_per_month(months: pd.DataFrame, source: str) -> Figure:
    """Sales and cancellations as bars above and below zero, net revenue as a line."""
    figure = _figure()
    axes = figure.subplots()
    x = np.arange(len(months))
    axes.bar(x, months["sales"], color=BLUE, label="sales")
    axes.bar(x, months["cancelled"], color=RED, label="cancellations")
    axes.plot(x, months["net_revenue"], color="black", marker="o", label="net revenue")
    axes.axhline(0, color="black", linewidth=0.6)
    axes.set_xticks(x, months["month"], rotation=45 if len(months) > 8 else 0, ha="right" if len(months) > 8 else "center")
    axes.yaxis.set_major_formatter(GBP)
    axes.set_ylabel("GBP (£)")
    axes.set_xlabel("month of the invoice")
    axes.set_title(f"Revenue per month: £{months['net_revenue'].sum():,.0f} net over {len(months)} months")
    axes.legend(frameon=False, loc="upper left")
    return _save(figure, "revenue_per_month", source)


def plot_revenue_per_country(countries: pd.DataFrame, source: str, top: int = 15) -> Figure:
    """Countries by net revenue, largest at the top, each bar labelled with its share of the total."""
    shown = countries.head(top).iloc[::-1]
    total = countries["net_revenue"].sum()
    figure = _figure(10, 0.9 + 0.38 * len(shown))
    axes = figure.subplots()
    bars = axes.barh(shown["country"], shown["net_revenue"], color=BLUE)
    axes.bar_label(bars, labels=[f"£{v:,.0f} ({v / total:.1%})" for v in shown["net_revenue"]], padding=3, fontsize=8)
    # One country has most of the revenue: a log scale keeps the others readable, when all are positive.
    logarithmic = bool((shown["net_revenue"] > 0).all())
    if logarithmic:
        axes.set_xscale("log")
        axes.set_xlim(left=max(1.0, shown["net_revenue"].min() / 2), right=shown["net_revenue"].max() * 5)
    else:
        axes.margins(x=0.25)
    axes.xaxis.set_major_formatter(GBP)
    axes.set_xlabel("net revenue, GBP (£)" + (", logarithmic scale" if logarithmic else ""))
    others = "" if len(countries) <= top else f", {len(countries) - top} more not shown"
    axes.set_title(f"Net revenue per country ({len(countries)} countries{others})")
    return _save(figure, "revenue_per_country", source)


def plot_top_products(products: pd.DataFrame, source: str) -> Figure:
    """The products as the query ranked them, best at the top, with revenue and units."""
    shown = products.iloc[::-1]
    figure = _figure(10, 0.9 + 0.38 * len(shown))
    axes = figure.subplots()
    labels = [product_label(code, text) for code, text in zip(shown["stockcode"], shown["description"])]
    bars = axes.barh(labels, shown["net_revenue"], color=BLUE)
    axes.bar_label(bars, labels=[f"£{v:,.0f} · {u:,} units" for v, u in zip(shown["net_revenue"], shown["units"])], padding=3, fontsize=8)
    axes.set_xlim(0, shown["net_revenue"].max() * 1.3)
    axes.xaxis.set_major_formatter(GBP)
    axes.set_xlabel("net revenue, GBP (£), cancellations deducted")
    axes.set_title(f"Top {len(products)} products by net revenue")
    return _save(figure, "top_products", source)


def plot_cancellations(months: pd.DataFrame, source: str) -> Figure:
    """Per month, the share of invoices that are cancellations (bars) and of value cancelled (line)."""
    figure = _figure()
    axes = figure.subplots()
    x = np.arange(len(months))
    value_share = months["cancelled_value"] / months["sales_value"].where(months["sales_value"] > 0)
    axes.bar(x, months["cancellation_rate"], color=RED, alpha=0.85, label="cancellation invoices / all invoices")
    axes.plot(x, value_share, color="black", marker="o", label="cancelled value / sales value")
    axes.set_xticks(x, months["month"], rotation=45 if len(months) > 8 else 0, ha="right" if len(months) > 8 else "center")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylim(0, max(0.05, float(np.nanmax([months["cancellation_rate"].max(), value_share.max()]))) * 1.25)
    axes.set_ylabel("share (%)")
    axes.set_xlabel("month of the cancellation")
    overall = months["cancellations"].sum() / months["invoices"].sum()
    axes.set_title(f"Cancellations per month: {overall:.1%} of invoices overall")
    axes.legend(frameon=False, loc="upper left")
    return _save(figure, "cancellations", source)


def plot_basket_size(baskets: pd.DataFrame, source: str) -> Figure:
    """Two histograms on logarithmic bins: lines and units per sales invoice, medians marked."""
    figure = _figure(11, 4.4)
    panels = figure.subplots(1, 2)
    titles = {"lines": "Lines per invoice", "units": "Units (items) per invoice"}
    for axes, measure in zip(panels, ("lines", "units")):
        part = baskets[baskets["measure"] == measure]
        sizes, counts = part["size"].astype(float), part["invoices"].astype(float)
        bins = np.unique(np.round(np.geomspace(1, max(2.0, sizes.max() + 1), 25)))
        axes.hist(sizes, bins=bins, weights=counts, color=BLUE, edgecolor="white")
        axes.set_xscale("log")
        median = weighted_quantile(part["size"], part["invoices"], 0.5)
        axes.axvline(median, color=RED, linestyle="--", label=f"median {median:,.0f}")
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(f"{measure} per invoice (logarithmic bins)")
        axes.set_ylabel("sales invoices")
        axes.set_title(titles[measure])
        axes.legend(frameon=False)
    figure.suptitle(f"Basket size of {int(baskets[baskets['measure'] == 'lines']['invoices'].sum()):,} sales invoices")
    return _save(figure, "basket_size", source)


def plot_cohorts(retention: pd.DataFrame, source: str) -> Figure:
    """The retention table as a heat map, each cell labelled with its percentage; months not
    observed yet in grey. The colour scale stops at the highest return rate (month 0 is always
    100%), so that small rates still show."""
    sizes, values = retention.attrs["sizes"], retention.to_numpy(dtype=float)
    returns = values[:, 1:]
    top = max(0.1, float(np.nanmax(returns))) if returns.size and not np.isnan(returns).all() else 1.0
    figure = _figure(11, 1.5 + 0.42 * len(retention))
    axes = figure.subplots()
    axes.set_facecolor("#e5e5e5")  # shows through the masked (not yet observed) cells
    image = axes.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0, vmax=top, aspect="auto")
    for (row, column), value in np.ndenumerate(values):
        if not np.isnan(value):
            colour = "white" if value > top * 0.6 else ("black" if value > 0 else GREY)
            axes.text(column, row, f"{value:.0%}", ha="center", va="center", fontsize=7, color=colour)
    axes.set_xticks(range(len(retention.columns)), retention.columns)
    axes.set_yticks(range(len(retention)), [f"{cohort} ({sizes[cohort]} customers)" for cohort in retention.index])
    axes.set_xlabel("months since the first purchase (grey: not observed yet)")
    axes.set_ylabel("cohort: month of the first purchase")
    axes.set_title("Customer retention: share of each cohort that bought again, by month")
    figure.colorbar(image, ax=axes, format=PercentFormatter(1.0, decimals=0), ticks=MaxNLocator(5, steps=[1, 2, 5, 10]), label="customers who bought (%)", shrink=0.8, extend="max")
    return _save(figure, "customer_cohorts", source)


# ---------------------------------------------------------------------------------------------
# Backfill: the whole sample into the Firehose table with one COPY


@dataclass(frozen=True)
class Backfill:
    source_rows: int  # lines in the file
    inserted: int  # events the table did not hold yet
    staged_at: str  # where the CSV was staged (deleted after the load)
    seconds: float
    statements: tuple[str, ...]  # the transaction's SQL

    def __str__(self) -> str:
        already = self.source_rows - self.inserted
        return (f"{self.source_rows:,} lines in the file: {self.inserted:,} inserted, {already:,} already in the table "
                f"(COPY from {self.staged_at}, {self.seconds:.1f} s)")


def backfill_csv(invoices: pd.DataFrame, source_name: str) -> bytes:
    """The lines as the stream's events, in the tables' columns, as UTF-8 CSV without header. The
    EventIds are those the API gives the same lines (``file:row``), so an event is never loaded
    twice whichever path brings it. A missing value is an empty field (NULL with EMPTYASNULL)."""
    events = pd.DataFrame(client.to_events(invoices, source_name), columns=EVENT_KEYS)
    events.columns = [column.lower() for column in events.columns]
    buffer = io.StringIO()
    events[list(LOAD_COLUMNS)].to_csv(buffer, index=False, header=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")



def backfill_statements(table: str, staged: str, copy_role_arn: str) -> list[str]:
    """One transaction: COPY the staged CSV into a temporary table, then INSERT the events the
    table does not hold (matched on eventid): a second run inserts nothing."""
    columns = ", ".join(LOAD_COLUMNS)
    table = _checked(table)
    return [
        f"create temp table backfill_stage ({STAGE_COLUMNS})",
        f"copy backfill_stage ({columns}) from '{staged}' iam_role '{copy_role_arn}' "
        "format as csv emptyasnull timeformat 'YYYY-MM-DD HH:MI:SS'",
        f"insert into {table} ({columns}) select {columns} from backfill_stage s "
        f"where not exists (select 1 from {table} t where t.eventid = s.eventid)",
    ]


def backfill(table: str, copy_role_arn: str, path: Path | None = None) -> Backfill:
    """Stage ``path`` (the bundled sample by default) in S3 and load the events ``table`` lacks, in
    one BatchExecuteStatement transaction; the staged file is deleted afterwards."""
    path = path or data.sample_path()
    invoices = data.load_invoices(path)
    body = backfill_csv(invoices, path.name)
    names = config.settings().names
    bucket, key = aws.bucket(), f"{names.glue_temp_prefix}{BACKFILL_PREFIX}{path.stem}.csv"
    staged = f"s3://{bucket}/{key}"
    s3 = aws.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    sqls = backfill_statements(table, staged, copy_role_arn)
    try:
        wh = warehouse.current()
        statement_id = aws.client("redshift-data").batch_execute_statement(Sqls=sqls, **wh.target())["Id"]
        description = warehouse.wait(statement_id, "; ".join(sqls))
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
    return Backfill(
        source_rows=len(invoices),
        inserted=int(description["SubStatements"][-1]["ResultRows"]),
        staged_at=staged,
        seconds=description["Duration"] / 1e9,
        statements=tuple(sqls),
    )
