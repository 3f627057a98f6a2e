"""The workbook's local cloud: moto's server for the control planes, plus data planes of our own.

``python -m helpers.localcloud up|down|status`` (or ``up()``, ``down()``, ``status()`` from Python).
"""

from helpers.localcloud.lifecycle import LocalCloudError, Status, down, status, up

__all__ = ["LocalCloudError", "Status", "down", "status", "up"]
