"""The data layer at full scale: generating, writing and loading 541,909 invoice lines.

    .venv/bin/python benchmarks/data_layer.py [--rows 541909] [--xlsx]

Prints wall-clock seconds for: synthetic generation, writing the Kaggle-form CSV, loading the
bundled sample, loading the full CSV, and (with ``--xlsx``, slow) writing and loading the same
lines as a UCI-style ``.xlsx`` workbook. The full CSV goes to ``build/`` (not committed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd

from helpers import data, synthetic


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label:<40} {time.perf_counter() - started:7.2f} s")
    return result


def write_uci_xlsx(frame: pd.DataFrame, path: Path) -> None:
    """The lines typed as in UCI's workbook: numeric codes as numbers, CustomerID as a float."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Online Retail")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=synthetic.FULL_SCALE_ROWS)
    parser.add_argument("--xlsx", action="store_true", help="also time the .xlsx form (minutes)")
    args = parser.parse_args()

    frame = timed(f"generate {args.rows:,} lines", lambda: synthetic.generate(args.rows))
    path = timed("write Kaggle-form CSV", lambda: synthetic.write_kaggle_csv(frame, synthetic.DEFAULT_FULL_SCALE_PATH))
    print(f"{'':<40} {path.stat().st_size / 1e6:7.1f} MB  {path}")
    timed(f"load the sample ({data.sample_path().name})", lambda: data.load_invoices(data.sample_path()))
    loaded = timed("load the full CSV", lambda: data.load_invoices(path))
    pd.testing.assert_frame_equal(loaded, frame)
    if args.xlsx:
        with tempfile.TemporaryDirectory() as scratch:
            workbook = Path(scratch) / data.UCI_FILE
            timed("write the lines as .xlsx (openpyxl)", lambda: write_uci_xlsx(frame, workbook))
            from_xlsx = timed("load the .xlsx", lambda: data.load_invoices(workbook))
            pd.testing.assert_frame_equal(from_xlsx, frame)


if __name__ == "__main__":
    main()
