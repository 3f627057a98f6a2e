"""``python -m helpers.localcloud up|down|status``: start, stop or inspect the local cloud."""

from __future__ import annotations

import argparse
import sys

from helpers import config
from helpers.localcloud import lifecycle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.localcloud",
        description="Start, stop or inspect the workbook's local cloud. "
        f"Port: WORKBOOK_LOCAL_PORT (default {config.DEFAULT_LOCAL_PORT}); "
        "state and log: WORKBOOK_STATE_DIR (default .localcloud/).",
    )
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        s = config.settings()
        if args.command == "up":
            print(lifecycle.up(s).describe())
            print(f"AWS_ENDPOINT_URL={s.local_endpoint}")
            print(f"log: {lifecycle.log_path(s)}")
        elif args.command == "down":
            stopped = lifecycle.down(s)
            print("local cloud: stopped" if stopped else "local cloud: nothing to stop (not started by `up`)")
        else:
            st = lifecycle.status(s)
            print(st.describe())
            return 0 if st.running else 3
    except (lifecycle.LocalCloudError, config.ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
