"""docs/risk.md, "Historical VaR when (1-c)·n is a whole number": this engine, skfolio and
Riskfolio-Lib's own `VaR_Hist` on the research-note panel's first asset, first 2,000 days.

Riskfolio-Lib is not a dependency. Install it beside the project without touching .venv, e.g.
    .venv/bin/uv pip install --python .venv/bin/python --target /tmp/rf --no-deps \\
        riskfolio-lib==7.4.0 astropy pyerfa astropy-iers-data networkx xlsxwriter arch
    PYTHONPATH=/tmp/rf .venv/bin/python scripts/doc_riskfolio_var.py
Without it the script prints the rule that tests/test_risk_engine.py mirrors instead.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.data.simulate import research_note_panel
from engine.risk import value_at_risk


def main() -> None:
    import skfolio.measures as skm

    x = research_note_panel()[:2000, 0]
    s = np.sort(x)
    print(f"n = {x.size}, 95%: k = (1 - c)·n = {0.05 * x.size:g}")
    print(f"engine value_at_risk:  {value_at_risk(x, 0.95):.6f} (minus the 101st smallest)")
    print(f"skfolio value_at_risk: {skm.value_at_risk(x, beta=0.95):.6f}")
    mirrored = -s[int(np.ceil(0.05 * x.size)) - 1]
    print(f"rule ceil(k) - 1 (0-based), mirrored in the tests: {mirrored:.6f}")
    try:
        import riskfolio.src.RiskFunctions as rf

        print(
            f"Riskfolio-Lib {version('riskfolio-lib')} VaR_Hist: {rf.VaR_Hist(x, alpha=0.05):.6f}"
        )
    except (ImportError, PackageNotFoundError) as exc:
        print(f"(Riskfolio-Lib not importable here: {exc}; see the docstring)")


if __name__ == "__main__":
    main()
