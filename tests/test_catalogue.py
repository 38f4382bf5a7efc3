"""The catalogue is the one place a function is declared: its checks and what it generates."""

from __future__ import annotations

import pytest

from xlfuncs.catalogue import Arg, ExcelFunction, catalogue, reference_markdown
from xlfuncs.functions import CATALOGUE

X = Arg("x", "A range", "range", required=True)
K = Arg("k", "A number")


def double_it(x, k=None):
    """Twice the range."""
    return [[2]]


def test_an_entry_generates_udf_formula_and_reference():
    entry = ExcelFunction("DOUBLE_IT", double_it, (X, K))
    udf = entry.make_udf()
    assert udf.__name__ == "double_it" and udf.__doc__ == "Twice the range."
    assert udf([[1]]) == [[2]]
    assert entry.formula("A1:B9") == "=DOUBLE_IT(A1:B9)"
    assert entry.formula("A1:B9", "3") == "=DOUBLE_IT(A1:B9,3)"
    with pytest.raises(TypeError, match="at most 2"):
        entry.formula("A1", "2", "3")
    with pytest.raises(TypeError, match="x required"):
        entry.formula()
    text = reference_markdown([entry])
    assert "## DOUBLE_IT(x, [k])" in text
    assert "| x | range | no | A range |" in text and "| k | value | yes | A number |" in text


def test_the_guard_turns_a_failure_into_one_line():
    def fails(x):
        """Always fails."""
        raise ValueError("boom")

    out = ExcelFunction("FAILS", fails, (X,)).make_udf()([[1]])
    assert out == [["FAILS: internal error (ValueError: boom); please report it"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((X,), "differ"),  # k missing from the entry
        ((K, X), "differ"),  # order
        ((X, Arg("k", "A number", required=True)), "required in one place"),
    ],
)
def test_entry_and_body_must_agree(args, message):
    with pytest.raises(TypeError, match=message):
        ExcelFunction("DOUBLE_IT", double_it, args)


def test_names_defaults_docstrings_and_duplicates_are_checked():
    def zero_default(x, k=0):
        """Doc."""

    def undocumented(x):
        pass

    with pytest.raises(TypeError, match="default to None"):
        ExcelFunction("ZERO_DEFAULT", zero_default, (X, K))
    with pytest.raises(TypeError, match="must be called"):
        ExcelFunction("TRIPLE_IT", double_it, (X, K))
    with pytest.raises(TypeError, match="docstring"):
        ExcelFunction("UNDOCUMENTED", undocumented, (X,))
    entry = ExcelFunction("DOUBLE_IT", double_it, (X, K))
    with pytest.raises(TypeError, match="twice"):
        catalogue(entry, entry)


def test_the_package_exports_exactly_the_catalogue():
    import xlfuncs

    assert xlfuncs.__all__ == [e.python_name for e in CATALOGUE.values()]
    for entry in CATALOGUE.values():
        assert getattr(xlfuncs, entry.python_name) is entry.udf
    assert len(CATALOGUE) == 18
