"""The functions xlwings Server offers to Excel: the whole xlfuncs catalogue."""

from xlfuncs.serve import install_pyodide_stub

install_pyodide_stub()  # before any conversion: see xlfuncs.serve

from xlfuncs import *  # noqa: E402, F403
from xlfuncs import __all__  # noqa: E402, F401
