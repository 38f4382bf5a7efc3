"""Regime-aware portfolio risk engine: data, regimes, risk, allocation.

The engine is pure Python over numpy/pandas/scipy/scikit-learn/hmmlearn. It never imports
xlwings or openpyxl: the Excel functions (`xlfuncs`) and report builders (`workbooks`) sit on top.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("regime-risk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

DEFAULT_SEED = 0
PERIODS_PER_YEAR = 252
