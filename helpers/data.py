"""Load the "Online Retail" invoice lines, in whichever public form they come, as one typed DataFrame.

Forms read (the format is detected from the file's content, not from its name):

- the Kaggle copy ``data.csv`` (carrie1/ecommerce-data): ISO-8859-1, dates ``12/1/2010 8:26``;
- copies with two-digit years (``12/1/10 8:26``), ISO dates (``2010-12-01 08:26:00``), UTF-8 text,
  or a ``TotalPrice`` column (checked against Quantity x UnitPrice, then dropped);
- the UCI original ``Online Retail.xlsx`` (see ``download_uci``).

Dates with slashes are month/day, as in every public copy: a date that is not a valid month/day
date is an error, never re-read as day/month.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from tqdm import tqdm

from helpers import config

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
# pandas 3's string dtype: missing values are NaN, never "" or "nan".
DTYPES = {
    "InvoiceNo": "str",
    "StockCode": "str",
    "Description": "str",
    "Quantity": "int64",
    "InvoiceDate": "datetime64[ns]",
    "UnitPrice": "float64",
    "CustomerID": "str",
    "Country": "str",
}
OPTIONAL = {"Description", "CustomerID"}  # may be blank in the real data; every other column may not
TOTAL_PRICE = "TotalPrice"  # an extra column in some copies: Quantity x UnitPrice

SAMPLE_FILE = "online_retail_sample.csv"
UCI_URL = "https://archive.ics.uci.edu/static/public/352/online+retail.zip"
UCI_FILE = "Online Retail.xlsx"

# Accepted InvoiceDate forms: an example, its strptime format, and the pattern a whole value must match.
DATE_FORMATS = {
    "12/1/2010 8:26": ("%m/%d/%Y %H:%M", r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}"),
    "12/1/10 8:26": ("%m/%d/%y %H:%M", r"\d{1,2}/\d{1,2}/\d{2} \d{1,2}:\d{2}"),
    "2010-12-01 08:26:00": ("%Y-%m-%d %H:%M:%S", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"),
    "2010-12-01T08:26:00": ("%Y-%m-%dT%H:%M:%S", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"),
}
CUSTOMER_ID = re.compile(r"(\d+)(?:\.0+)?")  # 17850, or 17850.0 as spreadsheets and floats write it
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive
XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the older binary Excel format


class InvoiceDataError(ValueError):
    """The file is not Online Retail invoice data, or has values that data cannot have."""


class DownloadError(RuntimeError):
    """The UCI archive could not be fetched or is not what it should be."""


def sample_path() -> Path:
    """The synthetic sample bundled with the workbook (see data/README.md)."""
    return config.DATA_DIR / SAMPLE_FILE


def load_invoices(path: str | Path) -> pd.DataFrame:
    """All invoice lines of ``path``, typed as ``DTYPES`` says, in file order, nothing dropped.

    Raises ``InvoiceDataError`` naming the missing columns or the offending values.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open("rb") as file:
        head = file.read(4)
    if head == XLS_MAGIC:
        raise InvoiceDataError(f"{path}: old binary Excel (.xls) is not supported; save it as .xlsx or CSV")
    raw = _read_xlsx(path) if head == XLSX_MAGIC else _read_csv(path)
    return _typed(raw, path)


def is_cancellation(frame: pd.DataFrame) -> pd.Series:
    """True for lines of a cancellation invoice (InvoiceNo starting with ``C``)."""
    return frame["InvoiceNo"].str.startswith("C")


def line_revenue(frame: pd.DataFrame) -> pd.Series:
    """Quantity x UnitPrice of each line, in pounds sterling (negative for cancellations)."""
    return (frame["Quantity"] * frame["UnitPrice"]).rename("Revenue")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        path.read_bytes().decode("utf-8")
        encoding = "utf-8-sig"  # also strips the byte-order mark some tools write
    except UnicodeDecodeError:
        encoding = "iso-8859-1"  # the Kaggle copy's encoding; it decodes any byte
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InvoiceDataError(f"{path}: not a readable CSV file ({error})") from error


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise InvoiceDataError(f"{path}: not a readable .xlsx workbook ({error})") from error


def _typed(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    raw = raw.rename(columns=lambda name: str(name).strip())
    missing = [column for column in COLUMNS if column not in raw.columns]
    if missing:
        found = ", ".join(map(str, raw.columns[:12])) or "none"
        raise InvoiceDataError(f"{path}: not Online Retail invoice data: missing columns {', '.join(missing)} (found: {found})")
    extra = [column for column in raw.columns if column not in COLUMNS and column != TOTAL_PRICE]
    if extra:
        warnings.warn(f"{path}: columns {', '.join(extra)} are not part of the invoice data and are left out", stacklevel=3)
    text = {column: _text(raw[column]) for column in ["InvoiceNo", "StockCode", "Description", "CustomerID", "Country"]}
    for column, values in text.items():
        if column not in OPTIONAL:
            _require(values.notna(), f"{path}: {column} is blank", raw, column)
    frame = pd.DataFrame(
        {
            "InvoiceNo": text["InvoiceNo"],
            "StockCode": text["StockCode"],
            "Description": text["Description"],
            "Quantity": _integers(raw["Quantity"], path, raw),
            "InvoiceDate": _dates(raw["InvoiceDate"], path, raw),
            "UnitPrice": _numbers(raw["UnitPrice"], "UnitPrice", path, raw),
            "CustomerID": _customer_ids(text["CustomerID"], path, raw),
            "Country": text["Country"],
        }
    )
    if TOTAL_PRICE in raw.columns:
        total = _numbers(raw[TOTAL_PRICE], TOTAL_PRICE, path, raw)
        # Copies round the product to cents; a difference of more than half a cent is not rounding.
        agrees = (total - frame["Quantity"] * frame["UnitPrice"]).abs() <= 0.005 + 1e-9 * total.abs()
        _require(agrees, f"{path}: {TOTAL_PRICE} is not Quantity x UnitPrice", raw, TOTAL_PRICE)
    return frame.astype(DTYPES)


def _text(values: pd.Series) -> pd.Series:
    """Strings as written (trailing spaces kept), blank as missing; spreadsheet numbers as their digits."""
    if values.dtype == object:  # from a spreadsheet: int, float, str or None cells
        values = values.map(_cell_text, na_action="ignore")
    result = values.astype("str")
    return result.where(result != "")


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _require(ok: pd.Series, message: str, raw: pd.DataFrame, column: str) -> None:
    """Raise with the first offending lines (numbered as in the file: header is line 1)."""
    if not ok.all():
        bad = np.flatnonzero(~ok.to_numpy())
        examples = ", ".join(f"line {i + 2}: {raw[column].iloc[i]!r}" for i in bad[:3])
        count = f"{len(bad):,} line{'s' if len(bad) > 1 else ''}"
        raise InvoiceDataError(f"{message}: {examples} ({count} in all)")


def _numbers(values: pd.Series, column: str, path: Path, raw: pd.DataFrame) -> pd.Series:
    numbers = pd.to_numeric(values.astype("str").str.strip(), errors="coerce").astype("float64")
    _require(numbers.notna(), f"{path}: {column} is not a number", raw, column)
    return numbers


def _integers(values: pd.Series, path: Path, raw: pd.DataFrame) -> pd.Series:
    numbers = _numbers(values, "Quantity", path, raw)
    _require(numbers == numbers.round(), f"{path}: Quantity is not a whole number", raw, "Quantity")
    return numbers.astype("int64")


def _customer_ids(values: pd.Series, path: Path, raw: pd.DataFrame) -> pd.Series:
    numbers = values.str.extract(f"^{CUSTOMER_ID.pattern}$", expand=False)
    _require(values.isna() | numbers.notna(), f"{path}: CustomerID is not a customer number", raw, "CustomerID")
    return numbers


def _dates(values: pd.Series, path: Path, raw: pd.DataFrame) -> pd.Series:
    """Parse with the one form that the first date has; every other date must have it too.

    Spreadsheet cells that are already dates print as ``2010-12-01 08:26:00``, an accepted form.
    """
    text = values.astype("str").str.strip()
    _require(text.notna() & (text != ""), f"{path}: InvoiceDate is blank", raw, "InvoiceDate")
    if text.empty:
        return pd.Series(pd.to_datetime([]), index=text.index)
    matches = {example: text.str.fullmatch(pattern) for example, (_, pattern) in DATE_FORMATS.items()}
    chosen = next((example for example, match in matches.items() if match.iloc[0]), None)
    if chosen is None:
        accepted = " or ".join(f"like {example}" for example in DATE_FORMATS)
        any_form = np.logical_or.reduce([match.to_numpy() for match in matches.values()])
        _require(pd.Series(any_form), f"{path}: InvoiceDate is not written {accepted}", raw, "InvoiceDate")
    _require(matches[chosen], f"{path}: InvoiceDate is not written like {chosen} throughout", raw, "InvoiceDate")
    parsed = pd.to_datetime(text, format=DATE_FORMATS[chosen][0], errors="coerce")
    # With slashes the data is month/day: 13/1/2011 is an error here, not the 13th of January.
    _require(parsed.notna(), f"{path}: InvoiceDate is not a valid month/day date like {chosen}", raw, "InvoiceDate")
    return parsed


def download_uci(dest_dir: str | Path, url: str = UCI_URL) -> Path:
    """Fetch the UCI "Online Retail" archive and return the path of ``Online Retail.xlsx`` in ``dest_dir``.

    Nothing is fetched when the file is already there. The archive (about 23 MB) comes with a
    progress bar; a network failure raises ``DownloadError`` saying how to fetch it by hand.
    """
    dest = Path(dest_dir)
    target = dest / UCI_FILE
    if target.is_file():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as scratch:
        archive = Path(scratch) / "online_retail.zip"
        try:
            with requests.get(url, stream=True, timeout=(10, 60)) as response:
                response.raise_for_status()
                size = int(response.headers.get("Content-Length", 0)) or None
                with archive.open("wb") as file, tqdm(total=size, unit="B", unit_scale=True, desc=UCI_FILE) as bar:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        file.write(chunk)
                        bar.update(len(chunk))
        except requests.RequestException as error:
            raise DownloadError(
                f"could not download {url} ({error}). Without network, fetch that zip by other means "
                f"and put {UCI_FILE!r} from it in {dest}"
            ) from error
        try:
            with zipfile.ZipFile(archive) as bundle:
                members = [name for name in bundle.namelist() if name.endswith(".xlsx")]
                if not members:
                    raise DownloadError(f"{url}: the archive has no .xlsx file (it has {bundle.namelist()})")
                extracted = Path(bundle.extract(members[0], scratch))
        except zipfile.BadZipFile as error:
            raise DownloadError(f"{url}: the download is not a zip archive ({error})") from error
        shutil.move(extracted, target)  # only a complete file ever gets the final name
    return target
