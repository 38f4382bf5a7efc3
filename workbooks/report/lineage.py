"""The Lineage sheet: data, model, versions and configuration behind the numbers."""

from __future__ import annotations

import datetime as dt
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook

import engine
from workbooks.io import put_text
from workbooks.report.assumptions import exogenous_summary, feature_labels
from workbooks.report.layout import (
    FMT,
    HEADER_FONT,
    TIMESTAMP,
    finish_sheet,
    header,
    set_widths,
    title,
)

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


def _versions() -> dict[str, str]:
    """Versions of the engine, Python and the libraries behind the numbers."""
    out = {"regime-risk": engine.__version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "scipy", "hmmlearn", "scikit-learn", "openpyxl"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def build_lineage(wb: Workbook, res: AnalysisResult, run_time: dt.datetime) -> None:
    """Run, data, detector and versions; the fitted model's transition matrix and per-state
    summary (engine output); the configuration as read."""
    from engine.cache import content_key  # imports pandas: only when a report is built

    ws = wb.create_sheet("Lineage")
    title(ws, "Lineage: where every number came from")
    det = res.regimes.detector
    diag = getattr(det, "diagnostics_", None)
    cfg = res.config
    rows: list[tuple[str, object]] = [
        ("Run time (UTC)", run_time.strftime(TIMESTAMP)),
        ("Data source", cfg.data.source),
        ("Input data SHA-256", res.data_sha256),
        ("Returns content hash (SHA-256)", content_key(res.returns)),
        ("Series", ", ".join(res.returns.columns)),
        ("Alignment", res.alignment.summary()),
        ("Returns", f"{cfg.data.return_method} returns, {len(res.returns)} dates"),
        ("Detector", f"{res.regimes.method} ({type(det).__name__}), {det.n_states} states"),
        ("Features fed to the model", feature_labels(res)),
        ("Exogenous series", exogenous_summary(res)),
        (
            "Parameters estimated on",
            f"{res.returns.index[0]:%Y-%m-%d}..{res.returns.index[-1]:%Y-%m-%d} "
            "(in sample); probabilities filtered forward (data up to each date)",
        ),
        ("Seed", cfg.regimes.seed),
        ("Log-likelihood", "not defined" if det.loglik_ is None else float(det.loglik_)),
        ("BIC", "not defined" if det.bic_ is None else float(det.bic_)),
    ]
    if res.exogenous_report is not None:
        rows += [("Exogenous alignment", line) for line in res.exogenous_report.lines()]
        rows += [("Exogenous warning", w) for w in res.exogenous_report.warnings]
        rows.append(("Exogenous data SHA-256", res.exogenous_sha256 or ""))
    if diag is not None:  # EM detectors report how the fit converged
        rows.append(
            (
                "Converged",
                f"{diag.converged} ({diag.converged_inits} of {diag.n_init} inits; "
                f"{diag.iterations} EM iterations in the best; {diag.covariance_type} covariance)",
            )
        )
    rows += [(f"Version: {k}", v) for k, v in _versions().items()]
    r = 3
    header(ws, 2, ["Item", "Value"])
    for key, value in rows:
        put_text(ws, r, 1, key)
        if isinstance(value, str):
            put_text(ws, r, 2, value)
        else:
            ws.cell(row=r, column=2, value=value)
        r += 1
    r += 1
    put_text(ws, r, 1, "Fitted model (engine output)").font = HEADER_FONT
    r += 1
    labels = list(res.regimes.labels)
    header(ws, r, ["Transition matrix (from \\ to)", *labels])
    for i, lab in enumerate(labels):
        put_text(ws, r + 1 + i, 1, lab)
        for j in range(len(labels)):
            ws.cell(
                row=r + 1 + i, column=2 + j, value=float(det.transmat_[i, j])
            ).number_format = "0.0000"
    r += len(labels) + 2
    summary = det.summary(res.regimes.design.to_numpy(), cfg.risk.periods_per_year)
    header(ws, r, ["State (signal: equal-weight return of the assets)", *summary.columns])
    for i, lab in enumerate(labels):
        put_text(ws, r + 1 + i, 1, lab)
        for j, v in enumerate(summary.loc[lab].to_numpy(dtype=float)):
            cell = ws.cell(row=r + 1 + i, column=2 + j, value=float(v) if np.isfinite(v) else None)
            cell.number_format = FMT.PCT if j < 3 else "0.0"
    r += len(labels) + 2
    put_text(ws, r, 1, "Configuration (as read)").font = HEADER_FONT
    for i, line in enumerate(cfg.source_text.splitlines(), start=1):
        put_text(ws, r + i, 1, line)
    set_widths(ws, {"A": 34, "B": 90})
    finish_sheet(ws)
