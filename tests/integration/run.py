#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run every kernel integration case: tests/integration/test_*.py."""
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

for f in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
    if f.startswith("test_") and f.endswith(".py"):
        importlib.import_module(f[:-3])
sys.exit(lib.main())
