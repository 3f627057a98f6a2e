"""Loading the invoice data in each public form, its errors, and the UCI download helper."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from helpers import config, data

REAL_SLICE = config.REPO_ROOT.parent / "shared" / "data" / "online_retail_2010-12.csv"  # beside the clone, when present


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return data.load_invoices(data.sample_path())


@pytest.fixture(scope="module")
def raw_sample() -> pd.DataFrame:
    """The sample's cells as text, to write other copies from."""
    return pd.read_csv(data.sample_path(), dtype=str, keep_default_na=False, encoding="iso-8859-1")


def test_sample_path_is_the_bundled_file():
    assert data.sample_path() == config.DATA_DIR / "online_retail_sample.csv"
    assert data.sample_path().is_file()


def test_kaggle_form_loads_typed(sample):
    assert sample.dtypes.astype(str).to_dict() == data.DTYPES
    assert list(sample.columns) == data.COLUMNS
    assert len(sample) == 5_000
    customers = sample["CustomerID"].dropna()
    assert customers.str.fullmatch(r"\d{5}").all()  # "20148", never "20148.0"
    assert sample["CustomerID"].isna().sum() > 1_000  # blanks are missing, not "" or "nan"
    assert not sample["CustomerID"].isin(["", "nan"]).any()
    assert sample["InvoiceDate"].iloc[0] == pd.Timestamp("2010-12-01 10:22")
    assert sample["Description"].str.endswith(" ").any()  # text is kept as written


def test_two_digit_years_and_total_price(tmp_path, raw_sample, sample):
    copy = raw_sample.copy()
    copy["InvoiceDate"] = copy["InvoiceDate"].str.replace(r"/20(\d\d) ", r"/\1 ", regex=True)
    total = sample["Quantity"] * sample["UnitPrice"]
    copy["TotalPrice"] = total.round(2).map(lambda value: f"{value:g}")
    copy.to_csv(tmp_path / "copy.csv", index=False, encoding="iso-8859-1")
    assert copy["InvoiceDate"].iloc[0].startswith("12/1/10 ")
    pd.testing.assert_frame_equal(data.load_invoices(tmp_path / "copy.csv"), sample)


def test_total_price_that_disagrees_is_an_error(tmp_path, raw_sample):
    copy = raw_sample.head(20).assign(TotalPrice="1000000")
    copy.to_csv(tmp_path / "copy.csv", index=False, encoding="iso-8859-1")
    with pytest.raises(data.InvoiceDataError, match=r"TotalPrice is not Quantity x UnitPrice: line 2: '1000000', line 3: .*20 lines in all"):
        data.load_invoices(tmp_path / "copy.csv")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_copies(tmp_path, raw_sample, sample, encoding):
    raw_sample.to_csv(tmp_path / "copy.csv", index=False, encoding=encoding)
    loaded = data.load_invoices(tmp_path / "copy.csv")
    pd.testing.assert_frame_equal(loaded, sample)
    assert loaded["Description"].str.contains("É").any()


def test_iso_dates_and_float_customer_ids(tmp_path, sample):
    """As pandas writes a frame read from the xlsx: 2010-12-01 10:22:00 and 20148.0."""
    copy = sample.assign(CustomerID=sample["CustomerID"] + ".0")
    copy.to_csv(tmp_path / "copy.csv", index=False)
    assert "2010-12-01 10:22:00" in (tmp_path / "copy.csv").read_text()
    pd.testing.assert_frame_equal(data.load_invoices(tmp_path / "copy.csv"), sample)


def write_uci_xlsx(frame: pd.DataFrame, path: Path) -> Path:
    """A workbook typed as UCI's: numbers where a code is all digits, CustomerID as a float, real dates."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Online Retail"
    sheet.append(data.COLUMNS)
    for row in frame.itertuples(index=False):
        sheet.append(
            [
                int(row.InvoiceNo) if row.InvoiceNo.isdigit() else row.InvoiceNo,
                int(row.StockCode) if row.StockCode.isdigit() else row.StockCode,
                None if pd.isna(row.Description) else row.Description,
                row.Quantity,
                row.InvoiceDate.to_pydatetime(),
                row.UnitPrice,
                None if pd.isna(row.CustomerID) else float(row.CustomerID),
                row.Country,
            ]
        )
    book.save(path)
    return path


@pytest.fixture(scope="module")
def varied(sample) -> pd.DataFrame:
    """Lines with every trait: cancellations, blank customers and descriptions, accents."""
    traits = [
        data.is_cancellation(sample),
        sample["CustomerID"].isna(),
        sample["Description"].isna(),
        ~sample["Description"].fillna("").map(str.isascii),
    ]
    chosen = pd.concat([sample.head(30)] + [sample[trait].head(20) for trait in traits])
    return chosen[~chosen.index.duplicated()].sort_index().reset_index(drop=True)


def test_uci_xlsx(tmp_path, varied):
    assert data.is_cancellation(varied).any() and varied["CustomerID"].isna().any()
    assert varied["Description"].isna().any() and (~varied["Description"].fillna("").map(str.isascii)).any()
    path = write_uci_xlsx(varied, tmp_path / "Online Retail.xlsx")
    pd.testing.assert_frame_equal(data.load_invoices(path), varied)


def test_not_invoice_data_names_the_missing_columns(tmp_path):
    (tmp_path / "other.csv").write_text("InvoiceNo,Amount,Date\n1,2.5,2020-01-01\n")
    with pytest.raises(data.InvoiceDataError, match="missing columns StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country"):
        data.load_invoices(tmp_path / "other.csv")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a readable CSV"),
        (b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
        (b"\xd0\xcf\x11\xe0 an old xls", r"\.xls\) is not supported"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    (tmp_path / "file").write_bytes(content)
    with pytest.raises(data.InvoiceDataError, match=message):
        data.load_invoices(tmp_path / "file")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.load_invoices(tmp_path / "absent.csv")


HEADER = ",".join(data.COLUMNS)
GOOD = "536365,85123A,LANTERN,6,12/1/2010 8:26,2.55,17850,United Kingdom"


@pytest.mark.parametrize(
    "line, message",
    [
        ("536365,85123A,LANTERN,six,12/1/2010 8:26,2.55,17850,United Kingdom", "Quantity is not a number: line 3: 'six' .1 line in all"),
        ("536365,85123A,LANTERN,1.5,12/1/2010 8:26,2.55,17850,United Kingdom", "Quantity is not a whole number"),
        ("536365,85123A,LANTERN,6,12/1/2010 8:26,,17850,United Kingdom", "UnitPrice is not a number"),
        ("536365,85123A,LANTERN,6,12/1/2010 8:26,2.55,17850,", "Country is blank"),
        (",85123A,LANTERN,6,12/1/2010 8:26,2.55,17850,United Kingdom", "InvoiceNo is blank"),
        ("536365,85123A,LANTERN,6,12/1/2010 8:26,2.55,C17850,United Kingdom", "CustomerID is not a customer number"),
        ("536365,85123A,LANTERN,6,13/1/2011 8:26,2.55,17850,United Kingdom", "not a valid month/day date like 12/1/2010 8:26: line 3: '13/1/2011 8:26'"),
        ("536365,85123A,LANTERN,6,12/1/10 8:26,2.55,17850,United Kingdom", "not written like 12/1/2010 8:26 throughout: line 3: '12/1/10 8:26'"),
        ("536365,85123A,LANTERN,6,,2.55,17850,United Kingdom", "InvoiceDate is blank"),
    ],
)
def test_bad_values_are_errors_naming_the_line(tmp_path, line, message):
    (tmp_path / "bad.csv").write_text(f"{HEADER}\n{GOOD}\n{line}\n")
    with pytest.raises(data.InvoiceDataError, match=message):
        data.load_invoices(tmp_path / "bad.csv")


def test_dates_in_no_accepted_form(tmp_path):
    (tmp_path / "bad.csv").write_text(f"{HEADER}\n{GOOD.replace('12/1/2010 8:26', '1 Dec 2010')}\n")
    with pytest.raises(data.InvoiceDataError, match="InvoiceDate is not written like 12/1/2010 8:26 or like 12/1/10 8:26 or .*: line 2: '1 Dec 2010'"):
        data.load_invoices(tmp_path / "bad.csv")


def test_dates_are_month_day_never_guessed(tmp_path):
    (tmp_path / "ok.csv").write_text(f"{HEADER}\n{GOOD.replace('12/1/2010', '1/12/2011')}\n")
    assert data.load_invoices(tmp_path / "ok.csv")["InvoiceDate"].iloc[0] == pd.Timestamp("2011-01-12 08:26")


def test_unknown_extra_columns_are_left_out_with_a_warning(tmp_path):
    (tmp_path / "extra.csv").write_text(f"Unnamed: 0,{HEADER}\n0,{GOOD}\n")
    with pytest.warns(UserWarning, match="Unnamed: 0 are not part of the invoice data"):
        frame = data.load_invoices(tmp_path / "extra.csv")
    assert list(frame.columns) == data.COLUMNS


def test_derived_helpers():
    frame = pd.DataFrame({"InvoiceNo": ["536365", "C536379"], "Quantity": [6, -2], "UnitPrice": [2.55, 1.5]})
    assert data.is_cancellation(frame).tolist() == [False, True]
    assert data.line_revenue(frame).round(2).tolist() == [15.3, -3.0]


@pytest.mark.skipif(not REAL_SLICE.exists(), reason="the real slice is not on this machine")
def test_real_slice_loads_every_line():
    """28,492 real lines: two-digit years and a TotalPrice column (checked, then dropped)."""
    frame = data.load_invoices(REAL_SLICE)
    assert len(frame) == 28_492
    assert frame.dtypes.astype(str).to_dict() == data.DTYPES
    # The file's dates run from 1 to 13 December 2010 (11 trading days).
    assert frame["InvoiceDate"].min() == pd.Timestamp("2010-12-01 08:26")
    assert frame["InvoiceDate"].max().date() == pd.Timestamp("2010-12-13").date()
    # The traits its README states, to the line: nothing was dropped or altered.
    assert frame["CustomerID"].isna().sum() == 10_003
    assert data.is_cancellation(frame).sum() == 418
    assert (frame["Quantity"] < 0).sum() == 485
    assert frame.duplicated().sum() == 412
    assert frame["CustomerID"].dropna().str.fullmatch(r"\d{5}").all()


# The download helper, against a loopback HTTP server (there is no network here).


class ArchiveServer:
    """Serves the files of a directory on 127.0.0.1 and counts the requests."""

    def __init__(self, root: Path):
        self.requests = 0
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = ArchiveServer(root)
    yield root, server
    server.close()


def test_download_uci_fetches_extracts_and_then_skips(tmp_path, served, varied):
    root, server = served
    workbook = write_uci_xlsx(varied.head(30), tmp_path / data.UCI_FILE)
    with zipfile.ZipFile(root / "online+retail.zip", "w") as archive:
        archive.write(workbook, data.UCI_FILE)
    dest = tmp_path / "dest"
    path = data.download_uci(dest, url=server.url("online+retail.zip"))
    assert path == dest / data.UCI_FILE
    assert path.read_bytes() == workbook.read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == [data.UCI_FILE]  # no archive or scratch left
    pd.testing.assert_frame_equal(data.load_invoices(path), varied.head(30))
    assert data.download_uci(dest, url=server.url("online+retail.zip")) == path
    assert server.requests == 1  # the second call found the file and fetched nothing


def test_download_uci_http_error(tmp_path, served):
    _, server = served
    with pytest.raises(data.DownloadError, match="could not download .*404"):
        data.download_uci(tmp_path / "dest", url=server.url("missing.zip"))
    assert list((tmp_path / "dest").iterdir()) == []


def test_download_uci_network_failure(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(data.DownloadError, match=r"could not download .*Online Retail\.xlsx"):
        data.download_uci(tmp_path / "dest", url=f"http://127.0.0.1:{port}/online+retail.zip")


@pytest.mark.parametrize(
    "content, message",
    [(b"<html>maintenance</html>", "not a zip archive"), (None, "has no .xlsx file")],
)
def test_download_uci_wrong_archive(tmp_path, served, content, message):
    root, server = served
    if content is None:
        with zipfile.ZipFile(root / "archive.zip", "w") as archive:
            archive.writestr("readme.txt", "no workbook here")
    else:
        (root / "archive.zip").write_bytes(content)
    with pytest.raises(data.DownloadError, match=message):
        data.download_uci(tmp_path / "dest", url=server.url("archive.zip"))
    assert list((tmp_path / "dest").iterdir()) == []
