"""The Excel function catalogue's machinery: one declarative entry per function.

An entry names the Excel function, its arguments (name, kind, the text the function wizard
shows) and the Python body that calls the engine. From the entries come the xlwings UDFs (the
guard and the xlwings decorators, for classic COM UDFs and xlwings Server alike), the function
reference in docs/functions.md, and the formulas the PM dashboard template writes. Adding a
function touches its body and one entry in `xlfuncs.functions.CATALOGUE`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from xlfuncs.guard import excel_function

ArgKind = Literal["range", "value"]


@dataclass(frozen=True)
class Arg:
    """One argument. `range`: the cells as Excel passes them (xlwings' raw converter, parsed by
    `xlfuncs.convert`); `value`: a single cell or literal. Optional unless `required`."""

    name: str
    doc: str
    kind: ArgKind = "value"
    required: bool = False


@dataclass(frozen=True)
class ExcelFunction:
    """An Excel function: its name, its arguments and the Python body that implements it.

    The body's parameters must be the arguments, in order, optional ones defaulting to None;
    its docstring is the description Excel shows."""

    name: str
    body: Callable[..., Any]
    args: tuple[Arg, ...]

    def __post_init__(self) -> None:
        params = list(inspect.signature(self.body).parameters.values())
        if [p.name for p in params] != [a.name for a in self.args]:
            raise TypeError(
                f"{self.name}: body parameters {[p.name for p in params]} differ from the "
                f"catalogue's arguments {[a.name for a in self.args]}"
            )
        for p, a in zip(params, self.args, strict=True):
            if (p.default is inspect.Parameter.empty) != a.required:
                raise TypeError(f"{self.name}: {a.name} is required in one place only")
            if not a.required and p.default is not None:
                raise TypeError(f"{self.name}: optional {a.name} must default to None")
        if self.name != self.python_name.upper():
            raise TypeError(f"{self.name}: the body must be called {self.name.lower()}")
        if not self.description:
            raise TypeError(f"{self.name}: the body needs a docstring (Excel's description)")

    @property
    def python_name(self) -> str:
        """The attribute name in `xlfuncs` (xlwings takes the Excel name from it)."""
        return self.body.__name__

    @property
    def description(self) -> str:
        """The body's docstring on one line, as the function wizard shows it."""
        return " ".join((self.body.__doc__ or "").split())

    def make_udf(self) -> Callable[..., Any]:
        """A new UDF: the body inside the error guard, decorated by whatever `xlwings.func` and
        `xlwings.arg` are now (classic COM, xlwings Server, or no-ops off Windows)."""
        import xlwings as xw

        # a new wrapper each call, so xlwings' metadata never lands on the body or another UDF
        udf = xw.func(excel_function(self.name)(self.body))
        for a in self.args:
            if a.kind == "range":
                udf = xw.arg(a.name, "raw", doc=a.doc)(udf)
            else:
                udf = xw.arg(a.name, doc=a.doc)(udf)
        return udf

    @cached_property
    def udf(self) -> Callable[..., Any]:
        """The UDF that `xlfuncs` exports (built once)."""
        return self.make_udf()

    def formula(self, *arguments: str) -> str:
        """An Excel formula calling this function, e.g. `=REGIME_PROB(Returns!$A$1:$D$9)`."""
        if len(arguments) > len(self.args):
            raise TypeError(f"{self.name} takes at most {len(self.args)} arguments")
        missing = [a.name for a in self.args[len(arguments) :] if a.required]
        if missing:
            raise TypeError(f"{self.name}: {', '.join(missing)} required")
        return f"={self.name}({','.join(arguments)})"

    def signature(self) -> str:
        """`NAME(required, [optional], ...)` as in the reference."""
        shown = (a.name if a.required else f"[{a.name}]" for a in self.args)
        return f"{self.name}({', '.join(shown)})"

    def reference(self) -> str:
        """This function's section of docs/functions.md."""
        lines = [f"## {self.signature()}", "", self.description, ""]
        if self.args:
            lines += ["| argument | kind | optional | description |", "|---|---|---|---|"]
            lines += [
                f"| {a.name} | {a.kind} | {'no' if a.required else 'yes'} | {a.doc} |"
                for a in self.args
            ]
            lines.append("")
        return "\n".join(lines)


def variant(
    name: str, doc: str, args: tuple[Arg, ...], impl: Callable[..., Any], *fixed: Any
) -> Callable[..., Any]:
    """A body called `name` whose Excel arguments are `args`; it returns impl(*fixed, *values).

    For functions that share one implementation (STATE_VAR and STATE_CVAR): the signature is
    built from the catalogue's arguments, so it is written once."""
    signature = inspect.Signature(
        [
            inspect.Parameter(
                a.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=inspect.Parameter.empty if a.required else None,
            )
            for a in args
        ]
    )

    def body(*values: Any, **named: Any) -> Any:
        bound = signature.bind(*values, **named)
        bound.apply_defaults()
        return impl(*fixed, *bound.args)

    body.__name__ = body.__qualname__ = name
    body.__doc__ = doc
    body.__signature__ = signature  # type: ignore[attr-defined]
    return body


def catalogue(*entries: ExcelFunction) -> dict[str, ExcelFunction]:
    """Entries by Excel name, in the order given; a repeated name is an error."""
    out: dict[str, ExcelFunction] = {}
    for e in entries:
        if e.name in out:
            raise TypeError(f"{e.name} is in the catalogue twice")
        out[e.name] = e
    return out


def reference_markdown(entries: Iterable[ExcelFunction]) -> str:
    """docs/functions.md: every function, alphabetically."""
    head = [
        "# Excel function reference",
        "",
        "Generated by `scripts/function_reference.py` from the catalogue in",
        "`xlfuncs/functions.py`, the same entries that give Excel its function wizard text and",
        "IntelliSense (a test checks that xlwings passes them on unchanged). Optional arguments",
        "accept an empty cell. Kind `range`: cells as Excel passes them (header row, dates,",
        "blanks, errors); `value`: one cell.",
        "",
    ]
    body = [e.reference() for e in sorted(entries, key=lambda e: e.name)]
    return "\n".join(head + body)
