"""Excel functions (xlwings UDFs). Name this module in xlwings' UDF Modules: `xlfuncs`.

Every entry of `xlfuncs.functions.CATALOGUE` becomes a module attribute here (e.g.
`xlfuncs.regime_prob`): the body inside the error guard, with xlwings' decorators applied.
"""

from xlfuncs.functions import CATALOGUE

globals().update({entry.python_name: entry.udf for entry in CATALOGUE.values()})
__all__ = [entry.python_name for entry in CATALOGUE.values()]
