"""Synthetic "Online Retail" invoice lines: deterministic, with the real data's quirks, none of its rows.

The UCI "Online Retail" data set (541,909 invoice lines, December 2010 to December 2011) has traits
every pipeline in this workbook has to survive. This generator reproduces them from invented
products, customers and invoices:

- invoices of several lines (median about a dozen), all lines of an invoice at the same minute;
- about a third of the lines without a CustomerID (whole invoices: the shop's anonymous web orders);
- cancellations: invoices numbered ``C`` + number, lines with a negative Quantity that take back
  lines of an earlier invoice of the same customer;
- stock adjustments: single lines with no customer, no description, a zero price and often a
  negative Quantity, outside any cancellation;
- the same StockCode more than once in one invoice, sometimes as an exact duplicate line;
- product names with trailing spaces, double spaces, commas and some accented letters (ISO-8859-1);
- about 35 countries with the United Kingdom dominant, one country per customer;
- trading days from 1 December 2010 to 9 December 2011 (no Saturdays, a Christmas break, UK bank
  holidays) at working-hours times, with the autumn peak of a gift shop.

Invoice numbers start at 600000 and customer numbers at 20000, outside the real data's ranges, so a
synthetic line can never be mistaken for a real one.

The same ``rows`` and ``seed`` give the same lines, and ``write_kaggle_csv`` the same bytes, on every
run (with the pinned numpy: numpy documents that its generators' streams may change between versions).

Command line::

    python -m helpers.synthetic --rows 5000 --out data/online_retail_sample.csv
    python -m helpers.synthetic            # the full-scale 541,909 lines, under build/
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from helpers import config

DEFAULT_SEED = 2010
FULL_SCALE_ROWS = 541_909  # the size of the real data set
DEFAULT_FULL_SCALE_PATH = config.BUILD_DIR / "online_retail_synthetic_full.csv"

FIRST_INVOICE = 600_000
FIRST_DAY, LAST_DAY = "2010-12-01", "2011-12-09"
CHRISTMAS_BREAK = ("2010-12-24", "2011-01-03")
UK_BANK_HOLIDAYS_2011 = ["2011-04-22", "2011-04-25", "2011-04-29", "2011-05-02", "2011-05-30", "2011-08-29"]
# Relative volume of a trading day, by month (the real data's shape: flat through the summer,
# then the autumn peak of a gift wholesaler).
DAY_VOLUME_BY_MONTH = {
    "2010-12": 1.5, "2011-01": 1.0, "2011-02": 0.8, "2011-03": 0.95, "2011-04": 1.0, "2011-05": 1.05,
    "2011-06": 1.0, "2011-07": 1.05, "2011-08": 0.95, "2011-09": 1.35, "2011-10": 1.65, "2011-11": 2.3,
    "2011-12": 2.25,
}  # fmt: skip
# Relative number of invoices by hour of the day (the shop invoices in working hours).
WEEKDAY_HOURS = {
    7: 1, 8: 15, 9: 80, 10: 95, 11: 120, 12: 125, 13: 115, 14: 130, 15: 110, 16: 75, 17: 35, 18: 20, 19: 8, 20: 3,
}  # fmt: skip
SUNDAY_HOURS = {10: 30, 11: 80, 12: 100, 13: 85, 14: 40, 15: 35, 16: 40}

# (country, share of identified invoices in per-mille, customers living there).
# Shares follow the real data's order of magnitude; Hong Kong only ever appears without a customer.
COUNTRIES = [
    ("United Kingdom", 880, 3950), ("Germany", 24, 95), ("France", 21, 87), ("EIRE", 12, 3),
    ("Spain", 6, 31), ("Netherlands", 5, 9), ("Belgium", 5, 25), ("Switzerland", 5, 21), ("Portugal", 4, 19),
    ("Australia", 3, 9), ("Norway", 3, 10), ("Italy", 2, 15), ("Channel Islands", 2, 9), ("Finland", 2, 12),
    ("Cyprus", 2, 8), ("Sweden", 1.2, 8), ("Unspecified", 1, 4), ("Austria", 1, 11), ("Denmark", 1, 9),
    ("Japan", 1, 8), ("Poland", 1, 6), ("Israel", 0.7, 4), ("USA", 0.7, 4), ("Singapore", 0.6, 1),
    ("Iceland", 0.5, 1), ("Canada", 0.4, 4), ("Greece", 0.4, 4), ("Malta", 0.3, 2),
    ("United Arab Emirates", 0.2, 2), ("European Community", 0.2, 1), ("RSA", 0.2, 1), ("Lebanon", 0.15, 1),
    ("Lithuania", 0.15, 1), ("Brazil", 0.15, 1), ("Czech Republic", 0.1, 1), ("Bahrain", 0.1, 2),
    ("Saudi Arabia", 0.1, 1),
]  # fmt: skip
# Countries of orders without a customer, per mille.
ANONYMOUS_COUNTRIES = {
    "United Kingdom": 989, "EIRE": 5, "Hong Kong": 2, "Unspecified": 1.5, "Switzerland": 1, "France": 0.5,
    "Israel": 0.4, "Portugal": 0.3,
}  # fmt: skip

# Invoice kinds and their share of invoices (the real data: most invoices are identified sales;
# anonymous web orders are fewer but much longer; cancellations and adjustments are short).
SALE, ANONYMOUS_SALE, CANCELLATION, ADJUSTMENT = 0, 1, 2, 3
KIND_SHARES = [0.71, 0.085, 0.135, 0.07]
MEAN_LINES_PER_INVOICE = 21  # 541,909 lines in about 25,900 invoices

# Quantities of a line (per ten thousand lines) and those of anonymous orders (mostly single items).
SALE_QUANTITIES = {
    1: 3500, 2: 1630, 12: 820, 3: 740, 6: 710, 4: 640, 24: 320, 5: 260, 8: 225, 10: 195, 48: 85, 7: 70,
    36: 63, 9: 53, 16: 49, 20: 46, 18: 36, 25: 35, 72: 30, 96: 18, 100: 12, 144: 10, 120: 8, 200: 5,
    288: 4, 480: 3, 600: 2, 1000: 1,
}  # fmt: skip
ANONYMOUS_QUANTITIES = {1: 70, 2: 17, 3: 6, 4: 3, 5: 1.5, 6: 1.5, 10: 0.5, 12: 0.5}

EXACT_DUPLICATE_SHARE = 0.015  # of all lines: a line entered twice, identically
REPEATED_CODE_SHARE = 0.0125  # of all lines: the same product again in the invoice, with another quantity
PARTIAL_CANCELLATION_SHARE = 0.2
CANCELLATION_DELAY_DAYS = 2  # mean time between a sale and its cancellation, in trading days
MANUAL_LINE_SHARE = 0.001
DISCOUNT_CANCELLATION_SHARE = 0.04
ANONYMOUS_MARKUP = 1.65  # anonymous web orders pay a higher unit price, as in the real data
BULK_QUANTITY, BULK_DISCOUNT = 100, 0.85

# Service lines the real data also has, with invented prices.
POSTAGE = ("POST", "POSTAGE")
DOTCOM_POSTAGE = ("DOT", "DOTCOM POSTAGE")
MANUAL = ("M", "Manual")
DISCOUNT = ("D", "Discount")

# Words for invented product names.
COLOURS = [
    "RED", "PINK", "BLUE", "IVORY", "SAGE GREEN", "MUSTARD", "TEAL", "LILAC", "CHARCOAL", "CORAL",
    "DUCK EGG", "SILVER", "GOLD", "COPPER", "PEARL", "MINT", "PLUM", "SAND", "NAVY", "CREAM",
]  # fmt: skip
MOTIFS = [
    "POLKA DOT", "GINGHAM", "PAISLEY", "SEASIDE", "WOODLAND", "FOX", "OWL", "HEDGEHOG", "SWALLOW", "ROBIN",
    "DAISY", "POPPY", "ROSEBUD", "SNOWFLAKE", "REINDEER", "STAR", "MOON", "ANCHOR", "LIGHTHOUSE", "TEAPOT",
    "CUPCAKE", "BICYCLE", "CACTUS", "LEMON", "STRAWBERRY", "HONEYBEE", "DRAGONFLY", "ZEBRA", "WHALE",
    "HOT AIR BALLOON", "TOADSTOOL", "ACORN", "BUNNY", "KITTEN", "PUPPY", "UMBRELLA", "CAMPER VAN",
    "DOUBLE DECKER", "ROCKET", "ROBOT", "MERMAID", "UNICORN", "PIRATE", "TEDDY", "GARDEN GNOME",
]  # fmt: skip
STYLES = ["VINTAGE", "RETRO", "RUSTIC", "SCANDI", "ART DECO", "COTTAGE", "BOHO", "FOLK ART", "MODERN", "ANTIQUE"]
ITEMS = [
    "MUG", "TEA TOWEL", "CUSHION COVER", "CANDLE", "COASTER", "GIFT BAG", "WRAPPING PAPER", "NOTEBOOK",
    "STORAGE TIN", "CAKE STAND", "BUNTING", "DOORSTOP", "PHOTO FRAME", "KEY RING", "PURSE", "APRON",
    "LANTERN", "TEALIGHT HOLDER", "WALL CLOCK", "PEG BAG", "LUNCH BOX", "WATER BOTTLE", "OVEN GLOVE",
    "PLANT POT", "JEWELLERY BOX", "HAIR CLIP", "GIFT TAG", "GREETING CARD", "PAPER NAPKINS", "PARTY CUPS",
    "SHOPPING BAG", "DRAWER KNOB", "COAT HOOK", "MIRROR", "TRINKET DISH", "MONEY BOX", "SNOW GLOBE",
    "HANGING ORNAMENT", "FAIRY LIGHTS", "PICNIC BASKET", "WASHBAG", "PENCIL CASE", "STICKER SHEET",
    "JIGSAW", "SKIPPING ROPE", "EGG CUP", "TOAST RACK", "BISCUIT BARREL", "SPICE JAR", "CHOPPING BOARD",
]  # fmt: skip
SET_SIZES = [2, 3, 4, 6, 8, 10, 12, 20]
SIZES = ["SMALL", "LARGE", "MINI", "JUMBO"]
# Names with letters outside ASCII, all representable in ISO-8859-1 (the Kaggle copy's encoding).
ACCENTED_NAMES = [
    "CAFÉ CREME MUG", "JOYEUX NOËL GIFT TAG", "CRÈME BRÛLÉE RAMEKIN", "PÂTISSERIE CAKE STAND",
    "FIANCÉE PHOTO FRAME", "SOIRÉE PAPER NAPKINS", "SMÖRGÅSBORD SERVING BOARD", "PIÑATA PARTY CUPS",
    "NAÏVE FOLK ART PLATE", "DÉCOR LETTER BLOCKS", "GRÜSS GOTT WALL SIGN", "FRAISE CRÊPE PAN",
    "BONNE FÊTE GREETING CARD", "CHÂTEAU GARDEN LANTERN", "NOËL SNOWFLAKE BUNTING", "CAFÉ AU LAIT BOWL",
]  # fmt: skip

CATALOG_FAMILIES = 3_300  # base codes; some have colour variants (12345A, 12345B, ...)


@dataclass(frozen=True)
class Catalog:
    """The invented products: parallel arrays indexed by product number."""

    stock_code: np.ndarray
    description: np.ndarray
    price_pence: np.ndarray
    popularity: np.ndarray  # relative chance of being on an invoice line


def _weights(values: dict) -> tuple[np.ndarray, np.ndarray]:
    keys = np.array(list(values))
    weights = np.array(list(values.values()), dtype=float)
    return keys, weights / weights.sum()


def _shop_price(rng: np.random.Generator, pounds: np.ndarray) -> np.ndarray:
    """Prices in pence as a shop writes them: multiples of 5p, some ending in 9 (1.69, 3.39)."""
    pence = np.maximum(10, np.round(pounds * 20).astype(np.int64) * 5)
    ends_in_nine = (rng.random(len(pence)) < 0.15) & (pence % 10 == 0)
    return pence - ends_in_nine


def _product_name(rng: np.random.Generator, colour: str) -> str:
    item, motif, style = rng.choice(ITEMS), rng.choice(MOTIFS), rng.choice(STYLES)
    form = rng.integers(7)
    if form == 0:
        return f"SET OF {rng.choice(SET_SIZES)} {motif} {item}S"
    if form == 1:
        return f"{style} {motif} {item}"
    if form == 2:
        return f"{item}, {motif} DESIGN"  # the real names have commas too
    if form == 3:
        return f"{rng.choice(SIZES)} {colour} {motif} {item}"
    return f"{colour} {motif} {item}"


def build_catalog(rng: np.random.Generator) -> Catalog:
    """Invent the products: codes like ``12345`` or ``12345A`` (colour variants), names, prices."""
    base_codes = rng.choice(np.arange(10_000, 90_000), size=CATALOG_FAMILIES, replace=False)
    variants = np.where(rng.random(CATALOG_FAMILIES) < 0.08, rng.integers(2, 6, CATALOG_FAMILIES), 1)
    codes: list[str] = []
    names: list[str] = []
    seen: set[str] = set()
    for base, count in zip(base_codes, variants):
        colours = rng.choice(COLOURS, size=count, replace=False)
        family_name = _product_name(rng, "{colour}")
        for index, colour in enumerate(colours):
            if count > 1 and "{colour}" not in family_name:
                name = f"{colour} {family_name}"
            else:
                name = family_name.replace("{colour}", str(colour))
            if name in seen:  # two families drew the same words: keep names unique per code
                name = f"{name} {rng.choice(SIZES)}"
            seen.add(name)
            codes.append(f"{base}{'ABCDEFG'[index]}" if count > 1 else str(base))
            names.append(name)
    accented_at = rng.choice(len(names), size=len(ACCENTED_NAMES), replace=False)
    for position, name in zip(accented_at, ACCENTED_NAMES):
        names[position] = name
    # Untidy spacing, as in the real names: a trailing space on about one name in five, some doubles.
    for position in np.flatnonzero(rng.random(len(names)) < 0.2):
        names[position] += " "
    for position in np.flatnonzero(rng.random(len(names)) < 0.02):
        names[position] = names[position].replace(" ", "  ", 1)
    prices = _shop_price(rng, np.clip(rng.lognormal(np.log(2.5), 0.9, len(names)), 0.1, 300))
    return Catalog(
        stock_code=np.array(codes, dtype=object),
        description=np.array(names, dtype=object),
        price_pence=prices,
        popularity=rng.lognormal(0, 1.0, len(names)),
    )


def _trading_days() -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The days the shop invoices, with each day's relative volume."""
    days = pd.date_range(FIRST_DAY, LAST_DAY, freq="D")
    closed = (days.day_of_week == 5) | days.isin(pd.to_datetime(UK_BANK_HOLIDAYS_2011))
    closed |= (days >= CHRISTMAS_BREAK[0]) & (days <= CHRISTMAS_BREAK[1])
    days = days[~closed]
    volume = np.array([DAY_VOLUME_BY_MONTH[month] for month in days.strftime("%Y-%m")])
    volume *= np.where(days.day_of_week == 6, 0.8, 1.0)
    return days, volume / volume.sum()


def _invoice_times(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` sorted invoice times (minute resolution) over the trading days and hours."""
    days, day_weights = _trading_days()
    day = days[rng.choice(len(days), size=count, p=day_weights)]
    weekday_hours, weekday_p = _weights(WEEKDAY_HOURS)
    sunday_hours, sunday_p = _weights(SUNDAY_HOURS)
    hour = np.where(
        day.day_of_week == 6,
        rng.choice(sunday_hours, size=count, p=sunday_p),
        rng.choice(weekday_hours, size=count, p=weekday_p),
    )
    minute = rng.integers(0, 60, count)
    times = day.values + (hour * 60 + minute).astype("timedelta64[m]")
    return np.sort(times.astype("datetime64[ns]"))


def _customers(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer numbers, each one's country index, and how often each buys (a few buy very often)."""
    total = sum(n for _, _, n in COUNTRIES)
    ids = np.sort(rng.choice(np.arange(20_000, 28_000), size=total, replace=False))
    country = np.repeat(np.arange(len(COUNTRIES)), [n for _, _, n in COUNTRIES])
    country = country[rng.permutation(total)]
    return ids, country, rng.lognormal(0, 1.2, total)


def _systematic(rng: np.random.Generator, count: int, shares: np.ndarray) -> np.ndarray:
    """``count`` category indices whose counts are within one of ``count * shares``, in random order.

    Systematic sampling instead of independent draws keeps a 5,000-line sample close to the
    intended mix (a rare country appears with the right probability, not by luck of the seed).
    """
    cumulative = np.cumsum(shares / shares.sum())
    points = (np.arange(count) + rng.random()) / count
    return rng.permutation(np.minimum(np.searchsorted(cumulative, points, side="right"), len(shares) - 1))


def _stratified_uniform(rng: np.random.Generator, count: int) -> np.ndarray:
    """One uniform draw in each of ``count`` equal slices of (0, 1), in random order."""
    return np.clip((rng.permutation(count) + rng.random(count)) / count, 1e-12, 1 - 1e-12)


def _lognormal_sizes(rng: np.random.Generator, count: int, median: float, sigma: float, largest: int) -> np.ndarray:
    """Invoice line counts with a long tail, stratified so that their sum varies little."""
    normal = NormalDist()
    z = np.array([normal.inv_cdf(u) for u in _stratified_uniform(rng, count)])
    return np.clip(np.round(median * np.exp(sigma * z)), 1, largest).astype(np.int64)


def _cancellation_sizes(rng: np.random.Generator, count: int) -> np.ndarray:
    """Mostly one or two lines taken back; one cancellation in twenty takes back 5 to 40."""
    u = _stratified_uniform(rng, count)
    few = np.ceil(np.log1p(-np.minimum(u / 0.95, 1 - 1e-12)) / np.log(0.45))
    many = 5 + np.floor((u - 0.95) / 0.05 * 36)
    return np.where(u < 0.95, np.maximum(few, 1), many).astype(np.int64)


def _spread(rng: np.random.Generator, size: np.ndarray, at: np.ndarray, lines: int) -> None:
    """Add ``lines`` lines (or remove, if negative) one at a time to invoices ``at``, in place."""
    while lines:
        can = at if lines > 0 else at[size[at] > 1]
        chosen = rng.choice(can, size=min(abs(lines), len(can)), replace=False)
        size[chosen] += np.sign(lines)
        lines -= np.sign(lines) * len(chosen)


def _invoice_plan(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kinds and line counts of invoices adding up to exactly ``rows`` lines, and each
    cancellation's original invoice (-1 for the others)."""
    invoices = max(1, round(rows / MEAN_LINES_PER_INVOICE))
    kind = _systematic(rng, invoices, np.array(KIND_SHARES))
    is_sale = kind <= ANONYMOUS_SALE
    kind[(kind > ANONYMOUS_SALE) & (np.cumsum(is_sale) == 0)] = SALE  # nothing to cancel yet
    is_sale = kind <= ANONYMOUS_SALE
    size = np.ones(invoices, dtype=np.int64)
    for which, median, sigma, largest in ((SALE, 14, 0.9, 250), (ANONYMOUS_SALE, 40, 1.3, 700)):
        at = kind == which
        size[at] = _lognormal_sizes(rng, int(at.sum()), median, sigma, largest)
    cancels = np.flatnonzero(kind == CANCELLATION)
    size[cancels] = _cancellation_sizes(rng, len(cancels))
    # Stretch the sales so that all invoices add up to ``rows`` lines.
    sales = np.flatnonzero(is_sale)
    wanted = rows - (size.sum() - size[sales].sum())
    if wanted < len(sales):  # a tiny sample: cancellations take back one line each
        size[cancels] = 1
        wanted = rows - (size.sum() - size[sales].sum())
    size[sales] = np.maximum(1, np.floor(size[sales] * wanted / size[sales].sum()))
    _spread(rng, size, sales, wanted - int(size[sales].sum()))
    # A cancellation takes back lines of a recent sale: about two trading days earlier on average,
    # whatever the number of invoices per day.
    sales_before = np.cumsum(is_sale)[cancels]
    invoices_per_day = invoices / len(_trading_days()[0])
    back = rng.geometric(min(1.0, 1 / (CANCELLATION_DELAY_DAYS * invoices_per_day)), len(cancels))
    original = np.full(invoices, -1)
    original[cancels] = sales[np.maximum(sales_before - back, 0)]
    too_many = np.maximum(size[cancels] - size[original[cancels]], 0)
    size[cancels] -= too_many
    _spread(rng, size, sales, int(too_many.sum()))
    return kind, size, original


def _unique_products(rng: np.random.Generator, invoice: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A product for each line, never the same twice in one invoice (repeats are added on purpose)."""
    product = rng.choice(len(weights), size=len(invoice), p=weights)
    while True:
        clash = pd.DataFrame({"invoice": invoice, "product": product}).duplicated().to_numpy()
        if not clash.any():
            return product
        product[clash] = rng.choice(len(weights), size=int(clash.sum()), p=weights)


def _parties(rng: np.random.Generator, kind: np.ndarray, original: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each invoice's CustomerID (None when anonymous) and country.

    An identified sale picks a country, then one of its customers (some buy far more often than
    others); a cancellation belongs to the customer of the sale it takes back.
    """
    customer_ids, customer_country, customer_activity = _customers(rng)
    customer = np.full(len(kind), -1)
    country = np.full(len(kind), "United Kingdom", dtype=object)
    sales = np.flatnonzero(kind == SALE)
    sale_country = _systematic(rng, len(sales), np.array([share for _, share, _ in COUNTRIES], dtype=float))
    country[sales] = np.array([name for name, _, _ in COUNTRIES], dtype=object)[sale_country]
    for index in range(len(COUNTRIES)):
        buyers = sales[sale_country == index]
        pool = np.flatnonzero(customer_country == index)
        activity = customer_activity[pool] / customer_activity[pool].sum()
        customer[buyers] = pool[rng.choice(len(pool), size=len(buyers), p=activity)]
    anonymous = np.flatnonzero(kind == ANONYMOUS_SALE)
    names, shares = _weights(ANONYMOUS_COUNTRIES)
    country[anonymous] = names[_systematic(rng, len(anonymous), shares)]
    cancels = np.flatnonzero(kind == CANCELLATION)
    customer[cancels] = customer[original[cancels]]
    country[cancels] = country[original[cancels]]
    customer_text = np.where(customer >= 0, customer_ids[np.maximum(customer, 0)].astype(str).astype(object), None)
    return customer_text, country


class _Lines:
    """The columns being filled in, one slot per invoice line, in invoice order."""

    def __init__(self, kind: np.ndarray, size: np.ndarray):
        rows = int(size.sum())
        self.start = np.cumsum(size) - size  # first slot of each invoice
        self.invoice = np.repeat(np.arange(len(size)), size)
        self.position = np.arange(rows) - self.start[self.invoice]
        self.kind = kind[self.invoice]
        self.stock = np.empty(rows, dtype=object)
        self.name = np.empty(rows, dtype=object)
        self.quantity = np.zeros(rows, dtype=np.int64)
        self.price = np.zeros(rows, dtype=np.int64)  # pence


def _fill_sales(
    rng: np.random.Generator, lines: _Lines, catalog: Catalog, size: np.ndarray, kind: np.ndarray, country: np.ndarray
) -> None:
    """Products of sales: distinct products, then exact duplicates, repeated products with another
    quantity, the odd manual line, and postage (foreign customers) or DOTCOM postage (web orders)."""
    rows = len(lines.kind)
    sale_line = lines.kind <= ANONYMOUS_SALE
    anonymous_line = lines.kind == ANONYMOUS_SALE
    foreign = country != "United Kingdom"
    has_postage = ((kind == SALE) & foreign & (rng.random(len(kind)) < 0.55)) | (
        (kind == ANONYMOUS_SALE) & (rng.random(len(kind)) < 0.45)
    )
    has_postage &= size >= 2
    postage_line = sale_line & has_postage[lines.invoice] & (lines.position == size[lines.invoice] - 1)

    # Exact duplicates and repeated products are shares of all lines, placed among the lines that
    # have an earlier line of their invoice to copy.
    can_copy = np.flatnonzero(sale_line & ~postage_line & (lines.position > 0))
    copy_shares = np.array([EXACT_DUPLICATE_SHARE, REPEATED_CODE_SHARE]) * rows / max(len(can_copy), 1)
    copy_shares = np.minimum(copy_shares, 0.25)  # tiny samples: keep most lines fresh
    role = _systematic(rng, len(can_copy), np.append(copy_shares, 1 - copy_shares.sum()))
    repeats = can_copy[role == 1]
    copies = can_copy[role < 2]
    fresh_line = sale_line & ~postage_line
    fresh_line[copies] = False
    fresh = np.flatnonzero(fresh_line)

    product = np.full(rows, -1)
    product[fresh] = _unique_products(rng, lines.invoice[fresh], catalog.popularity / catalog.popularity.sum())
    sale_q, sale_qp = _weights(SALE_QUANTITIES)
    anon_q, anon_qp = _weights(ANONYMOUS_QUANTITIES)
    lines.quantity[fresh] = np.where(
        anonymous_line[fresh], rng.choice(anon_q, size=len(fresh), p=anon_qp), rng.choice(sale_q, size=len(fresh), p=sale_qp)
    )
    # A copy points at an earlier line of its invoice; copies of copies lead back to a fresh line.
    source = np.arange(rows)
    source[copies] = lines.start[lines.invoice[copies]] + (rng.random(len(copies)) * lines.position[copies]).astype(np.int64)
    root = source.copy()
    while not fresh_line[root[copies]].all():
        root[copies] = source[root[copies]]
    product[copies] = product[root[copies]]
    lines.quantity[copies] = lines.quantity[root[copies]]
    other = rng.choice(sale_q, size=len(repeats), p=sale_qp)
    lines.quantity[repeats] = np.where(other == lines.quantity[repeats], lines.quantity[repeats] + 1, other)

    priced = np.flatnonzero(product >= 0)
    lines.stock[priced] = catalog.stock_code[product[priced]]
    lines.name[priced] = catalog.description[product[priced]]
    pence = catalog.price_pence[product[priced]].astype(float)
    pence = np.where(anonymous_line[priced], pence * ANONYMOUS_MARKUP, pence)
    pence = np.where(lines.quantity[priced] >= BULK_QUANTITY, pence * BULK_DISCOUNT, pence)
    lines.price[priced] = np.round(pence).astype(np.int64)

    copied = np.zeros(rows, dtype=bool)
    copied[root[copies]] = True
    manual = np.flatnonzero(fresh_line & ~copied & ~anonymous_line & (rng.random(rows) < MANUAL_LINE_SHARE))
    lines.stock[manual], lines.name[manual] = MANUAL
    lines.quantity[manual] = 1
    lines.price[manual] = _shop_price(rng, rng.lognormal(np.log(3), 1.2, len(manual)))

    postage = np.flatnonzero(postage_line)
    web = anonymous_line[postage]
    lines.stock[postage] = np.where(web, DOTCOM_POSTAGE[0], POSTAGE[0])
    lines.name[postage] = np.where(web, DOTCOM_POSTAGE[1], POSTAGE[1])
    lines.quantity[postage] = np.where(web, 1, rng.integers(1, 4, len(postage)))
    dotcom_pence = np.round(size[lines.invoice[postage]] * rng.uniform(150, 350, len(postage)))
    lines.price[postage] = np.where(web, dotcom_pence, rng.choice([1500, 1800, 1800, 2800, 4000], len(postage)))


def _fill_cancellations(
    rng: np.random.Generator, lines: _Lines, size: np.ndarray, kind: np.ndarray, original: np.ndarray
) -> None:
    """A cancellation takes back consecutive lines of its original sale (a random subset of it,
    since lines are shuffled at the end), the whole quantity or part of it; a few are discounts."""
    cancel_invoice = kind == CANCELLATION
    cancel = np.flatnonzero(lines.kind == CANCELLATION)
    invoice = lines.invoice[cancel]
    room = np.where(cancel_invoice, size[np.maximum(original, 0)] - size + 1, 1)
    offset = (rng.random(len(kind)) * room).astype(np.int64)
    taken = lines.start[original[invoice]] + offset[invoice] + lines.position[cancel]
    lines.stock[cancel], lines.name[cancel], lines.price[cancel] = lines.stock[taken], lines.name[taken], lines.price[taken]
    bought = lines.quantity[taken]
    part = np.minimum((rng.random(len(cancel)) * bought).astype(np.int64) + 1, bought)
    lines.quantity[cancel] = -np.where(rng.random(len(cancel)) < PARTIAL_CANCELLATION_SHARE, part, bought)
    discount_invoice = cancel_invoice & (size == 1) & (rng.random(len(kind)) < DISCOUNT_CANCELLATION_SHARE)
    discount = np.flatnonzero(discount_invoice[lines.invoice])
    lines.stock[discount], lines.name[discount] = DISCOUNT
    lines.quantity[discount] = -1
    lines.price[discount] = _shop_price(rng, rng.lognormal(np.log(20), 1.0, len(discount)))


def _fill_adjustments(rng: np.random.Generator, lines: _Lines, catalog: Catalog) -> None:
    """Stock adjustments: a product, no description, no price, mostly taken out of stock."""
    adjust = np.flatnonzero(lines.kind == ADJUSTMENT)
    lines.stock[adjust] = catalog.stock_code[rng.choice(len(catalog.stock_code), size=len(adjust))]
    lines.name[adjust] = None
    amounts, shares = _weights(SALE_QUANTITIES)
    amount = rng.choice(amounts, size=len(adjust), p=shares)
    lines.quantity[adjust] = np.where(rng.random(len(adjust)) < 0.6, -amount, amount)


def generate(rows: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """``rows`` invoice lines, in invoice order, typed as ``helpers.data.load_invoices`` returns them."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    rng = np.random.default_rng(seed)
    catalog = build_catalog(rng)
    kind, size, original = _invoice_plan(rng, rows)
    times = _invoice_times(rng, len(kind))
    customer, country = _parties(rng, kind, original)
    lines = _Lines(kind, size)
    _fill_sales(rng, lines, catalog, size, kind, country)
    _fill_cancellations(rng, lines, size, kind, original)
    _fill_adjustments(rng, lines, catalog)

    number = np.char.mod("%d", FIRST_INVOICE + np.arange(len(kind))).astype(object)
    number[kind == CANCELLATION] = "C" + number[kind == CANCELLATION]
    at = lines.invoice
    frame = pd.DataFrame(
        {
            "InvoiceNo": pd.array(number[at], dtype="str"),
            "StockCode": pd.array(lines.stock, dtype="str"),
            "Description": pd.array(lines.name, dtype="str"),
            "Quantity": lines.quantity,
            "InvoiceDate": times[at],
            "UnitPrice": lines.price / 100,
            "CustomerID": pd.array(customer[at], dtype="str"),
            "Country": pd.array(country[at], dtype="str"),
        }
    )
    order = np.lexsort((rng.random(rows), at))  # lines of an invoice come in no particular order
    return frame.iloc[order].reset_index(drop=True)


def _price_text(pence: np.ndarray) -> np.ndarray:
    """2.55 -> "2.55", 2.10 -> "2.1", 18.00 -> "18", 0 -> "0": how the Kaggle copy writes prices."""
    values, inverse = np.unique(pence, return_inverse=True)
    texts = np.array([f"{v // 100}.{v % 100:02d}".rstrip("0").rstrip(".") for v in values], dtype=object)
    return texts[inverse]


def write_kaggle_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write lines as the Kaggle copy ``data.csv`` is: ISO-8859-1, dates ``12/1/2010 8:26``."""
    dates = frame["InvoiceDate"]
    date_text = (
        dates.dt.month.astype(str) + "/" + dates.dt.day.astype(str) + "/" + dates.dt.year.astype(str) + " "
        + dates.dt.hour.astype(str) + ":" + dates.dt.strftime("%M")
    )  # fmt: skip
    text = pd.DataFrame(
        {
            "InvoiceNo": frame["InvoiceNo"],
            "StockCode": frame["StockCode"],
            "Description": frame["Description"],
            "Quantity": frame["Quantity"].astype(str),
            "InvoiceDate": date_text,
            "UnitPrice": _price_text(np.round(frame["UnitPrice"].to_numpy() * 100).astype(np.int64)),
            "CustomerID": frame["CustomerID"],
            "Country": frame["Country"],
        }
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text.to_csv(path, index=False, encoding="iso-8859-1", lineterminator="\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=FULL_SCALE_ROWS, help="invoice lines (default: %(default)s, the real size)")
    parser.add_argument("--out", type=Path, default=DEFAULT_FULL_SCALE_PATH, help="CSV to write (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    path = write_kaggle_csv(generate(args.rows, args.seed), args.out)
    print(f"wrote {args.rows:,} lines to {path} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
