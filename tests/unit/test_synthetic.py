"""The synthetic generator: deterministic, exact in size, and faithful to the real data's traits."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers import data, synthetic

SAMPLE_ROWS = 5_000


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return synthetic.generate(SAMPLE_ROWS)


@pytest.fixture(scope="module")
def full_scale() -> pd.DataFrame:
    return synthetic.generate(synthetic.FULL_SCALE_ROWS)


def test_same_seed_writes_the_same_bytes(tmp_path):
    first = synthetic.write_kaggle_csv(synthetic.generate(2_000, seed=7), tmp_path / "a.csv")
    second = synthetic.write_kaggle_csv(synthetic.generate(2_000, seed=7), tmp_path / "b.csv")
    other = synthetic.write_kaggle_csv(synthetic.generate(2_000, seed=8), tmp_path / "c.csv")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_bundled_sample_equals_a_fresh_generation(tmp_path):
    """data/online_retail_sample.csv is exactly what the command in data/README.md writes."""
    fresh = tmp_path / "sample.csv"
    assert synthetic.main(["--rows", str(SAMPLE_ROWS), "--out", str(fresh), "--seed", str(synthetic.DEFAULT_SEED)]) == 0
    assert data.sample_path().read_bytes() == fresh.read_bytes()


@pytest.mark.parametrize("rows", [1, 2, 7, 40, 333, 1_234])
def test_exactly_the_rows_asked_for(rows):
    assert len(synthetic.generate(rows)) == rows


def test_rows_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        synthetic.generate(0)


def test_types_match_the_loader(sample):
    assert sample.dtypes.astype(str).to_dict() == data.DTYPES


def test_kaggle_csv_form(tmp_path, sample):
    raw = synthetic.write_kaggle_csv(sample, tmp_path / "s.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # ISO-8859-1: an accented letter is one byte, not valid UTF-8
    text = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False, encoding="iso-8859-1")
    assert list(text.columns) == data.COLUMNS
    assert text["InvoiceDate"].str.fullmatch(r"\d{1,2}/\d{1,2}/20\d\d \d{1,2}:\d\d").all()
    assert text["InvoiceDate"].iloc[0].startswith("12/1/2010 ")  # no zero padding
    assert text["CustomerID"].str.fullmatch(r"(\d{5})?").all()
    assert (text["CustomerID"] == "").any()
    assert not text["UnitPrice"].str.contains(r"\.\d*0$").any()  # 2.1, not 2.10
    assert not re.search(rb"\r", raw)


def check_traits(frame: pd.DataFrame, min_countries: int) -> None:
    cancellation = data.is_cancellation(frame)
    assert 0.28 <= frame["CustomerID"].isna().mean() <= 0.38  # about a third
    assert 0.010 <= cancellation.mean() <= 0.020  # about 1.5%
    assert (frame.loc[cancellation, "Quantity"] < 0).all()
    assert 0.012 <= frame.duplicated().mean() <= 0.018  # about 1.5%
    repeated = frame.duplicated(["InvoiceNo", "StockCode"])
    assert repeated.sum() > frame.duplicated().sum()  # also repeats with another quantity
    assert ((frame["Quantity"] < 0) & ~cancellation).any()  # stock adjustments
    assert frame["Description"].isna().any()
    non_ascii = frame["Description"].dropna().map(lambda name: not name.isascii())
    assert non_ascii.any()
    frame["Description"].dropna().map(lambda name: name.encode("iso-8859-1"))  # all representable
    countries = frame["Country"].value_counts(normalize=True)
    assert countries.index[0] == "United Kingdom" and countries.iloc[0] > 0.8
    assert len(countries) >= min_countries
    lines_per_invoice = frame.groupby("InvoiceNo").size()
    assert lines_per_invoice.median() >= 5 and lines_per_invoice.max() >= 100
    assert frame.groupby("InvoiceNo")["InvoiceDate"].nunique().eq(1).all()
    dates = frame["InvoiceDate"]
    assert dates.min() >= pd.Timestamp("2010-12-01") and dates.max() < pd.Timestamp("2011-12-10")
    assert dates.dt.hour.between(7, 20).all()
    assert not (dates.dt.day_of_week == 5).any()  # no Saturdays, as in the real data
    assert dates.dt.to_period("M").nunique() == 13


def test_sample_has_the_real_data_traits(sample):
    check_traits(sample, min_countries=10)


def test_full_scale_has_the_real_data_traits(full_scale):
    assert len(full_scale) == synthetic.FULL_SCALE_ROWS
    check_traits(full_scale, min_countries=33)  # about 35, as in the real data
    assert 20_000 < full_scale["InvoiceNo"].nunique() < 32_000
    months = full_scale["InvoiceDate"].dt.to_period("M").value_counts()
    assert months[pd.Period("2011-11", "M")] > 1.8 * months[pd.Period("2011-02", "M")]  # autumn peak


def test_cancellations_take_back_an_earlier_purchase(full_scale):
    cancellation = data.is_cancellation(full_scale)
    taken_back = full_scale[cancellation & full_scale["CustomerID"].notna() & (full_scale["StockCode"] != "D")]
    bought = (
        full_scale[~cancellation]
        .groupby(["CustomerID", "StockCode"])["InvoiceDate"]
        .min()
        .rename("first_bought")
    )
    joined = taken_back.join(bought, on=["CustomerID", "StockCode"])
    assert joined["first_bought"].notna().all()
    assert (joined["first_bought"] <= joined["InvoiceDate"]).all()


def test_synthetic_ranges_never_overlap_the_real_data(sample):
    numbers = sample["InvoiceNo"].str.lstrip("C").astype(int)
    assert numbers.min() >= 600_000  # the real data ends at 581587
    customers = sample["CustomerID"].dropna().astype(int)
    assert customers.min() >= 20_000  # the real data's customers are 12346-18287
