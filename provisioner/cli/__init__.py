"""The command line: parse, call a command (provisioner/commands), render what it returns
(report.py), and map errors and results to exit codes.

This package is the only code that imports click. boto3 is imported lazily so `--help` is
instant.
"""

from .app import cli
from .commands import main

__all__ = ["cli", "main"]
