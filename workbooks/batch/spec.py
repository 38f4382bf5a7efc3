"""The batch file: a `[batch]` section → one validated `RunConfig` per task.

A task is one (portfolio, configuration). Each task's configuration is the base report
configuration with the portfolio's assets/weights and one combination of the grid's values
written into its TOML tables; the result goes through `engine.config.parse_config`, so a batch
accepts exactly what `regime-risk report` accepts and every error names its key: an error the
engine finds in a grid value is reported as `batch.grid."regimes.method"[1]: …`, one in a
portfolio as `batch.portfolios[0].weights: …`, one in the base file under its own key.

Light imports only (no numpy, pandas or dask): a typo is reported before any library loads.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import itertools
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import RunConfig, parse_config
from engine.errors import InputError

BATCH_KEYS = ("base", "grid", "portfolios", "portfolios_csv", "report", "scheduler", "workers")
PORTFOLIO_KEYS = ("name", "weights", "columns")
SCHEDULERS = ("local", "synchronous")  # or the address of a running scheduler, tcp://HOST:8786
BASE_PORTFOLIO = "base"  # the portfolio's name when the batch names none (the base's own)
# keys a portfolio sets: they cannot also be swept by the grid when portfolios are given
PORTFOLIO_SETS = ("data.columns", "portfolio.weights")
_GRID_KEY = re.compile(r"[a-z_]+\.[a-z_]+\Z")
_ADDRESS = re.compile(r"[a-z]+://\S+\Z")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True)
class Portfolio:
    """One portfolio of the batch: weights over the base's assets, or its own asset list."""

    name: str
    weights: tuple[float, ...] | None  # None: the base's weights
    columns: tuple[str, ...] | None  # None: the base's data.columns
    where: str  # the key that defined it, for errors: "batch.portfolios[1]"


@dataclass(frozen=True)
class TaskSpec:
    """One task: a portfolio and one combination of the grid's values, fully validated."""

    index: int  # position in the batch (portfolios outer, grid combinations inner)
    portfolio: str
    grid: tuple[tuple[str, Any], ...]  # (dotted key, value), in the grid's order
    config: RunConfig  # parse_config(text): what the task runs
    text: str  # the canonical configuration text (sorted TOML): part of the task's key
    data_text: str  # the canonical [data] table: tasks with the same one share their data

    def label(self) -> str:
        """`portfolio regimes.method=hmm backtest.cost_bps=10` for progress and errors."""
        values = " ".join(f"{k}={display_value(v)}" for k, v in self.grid)
        return f"{self.portfolio} {values}".strip()


@dataclass(frozen=True)
class BatchSpec:
    """A parsed, validated batch file."""

    path: Path
    base: Path
    grid: dict[str, list[Any]]  # dotted key → values, in the file's order
    portfolios: tuple[Portfolio, ...]
    report: bool  # also write each task's report workbook
    scheduler: str | None  # [batch] scheduler (the CLI's --scheduler wins)
    workers: int | None  # [batch] workers (the CLI's --workers wins)
    tasks: tuple[TaskSpec, ...]
    tolerance: float  # the base's report.tolerance: the summary's checks use it


# ------------------------------------------------------------------ canonical TOML


def dump_toml(raw: dict[str, Any]) -> str:
    """Canonical TOML of a configuration dict: tables and keys sorted, nested tables inline, so
    the same settings always give the same text (and the same task key) whatever the order or
    comments of the files they came from. `tomllib.loads(dump_toml(d)) == d`."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in sorted(raw.items()) if not isinstance(v, dict)]
    for name, table in sorted(raw.items()):
        if isinstance(table, dict):
            lines.append(f"\n[{_key(name)}]")
            lines += [f"{_key(k)} = {_value(v)}" for k, v in sorted(table.items())]
    return "\n".join(lines).lstrip("\n") + "\n"


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _string(k)


def _string(s: str) -> str:
    # JSON's escapes are TOML's; DEL is the one character TOML also wants escaped
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)  # the shortest text that reads back as the same double
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, dt.date | dt.time):  # dt.datetime is a dt.date
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in sorted(v.items())) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def jsonable(v: Any) -> Any:
    """A grid value as JSON: TOML dates as ISO text, the rest as is."""
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return v


def display_value(v: Any) -> str | int | float | bool:
    """A grid value for a table cell: numbers, text and booleans as they are, a date as ISO
    text, a list or table as compact JSON."""
    if isinstance(v, bool | int | float | str):
        return v
    j = jsonable(v)
    return j if isinstance(j, str) else json.dumps(j, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------ the batch file


def load_batch(path: str | Path) -> BatchSpec:
    """Read and validate a batch file; every task's configuration is built and validated
    before anything runs (errors: `engine.errors.InputError` naming the key)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("--config", f"file not found: {p}")
    return parse_batch(p.read_text(encoding="utf-8"), p)


def parse_batch(text: str, path: Path) -> BatchSpec:
    """Validate the batch file's text (`path` locates the files it names)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("config", f"not valid TOML: {exc}") from exc
    extra = sorted(set(raw) - {"batch"})
    if extra:
        raise InputError(
            extra[0],
            "a batch file holds only the [batch] section; put report settings in the base "
            "configuration (batch.base) or sweep them in [batch.grid]",
        )
    b = raw.get("batch")
    if not isinstance(b, dict):
        raise InputError("batch", "missing: a batch file needs a [batch] section with base = …")
    unknown = [k for k in b if k not in BATCH_KEYS]
    if unknown:
        raise InputError(f"batch.{unknown[0]}", f"unknown key; allowed: {', '.join(BATCH_KEYS)}")
    here = path.parent
    base_path, base_raw, base_cfg = _base(b, here)
    report = b.get("report", False)
    if not isinstance(report, bool):
        raise InputError("batch.report", f"must be true or false (got {report!r})")
    scheduler = b.get("scheduler")
    if scheduler is not None:
        scheduler = check_scheduler("batch.scheduler", scheduler)
    workers = b.get("workers")
    if workers is not None:
        workers = check_workers("batch.workers", workers)
    portfolios = _portfolios(b, here, base_cfg)
    grid = _grid(b.get("grid", {}), has_portfolios=bool(portfolios))
    if not portfolios:
        portfolios = [Portfolio(BASE_PORTFOLIO, None, None, "batch.base")]
    tasks = _tasks(base_raw, base_path, portfolios, grid)
    return BatchSpec(
        path=path,
        base=base_path,
        grid=grid,
        portfolios=tuple(portfolios),
        report=report,
        scheduler=scheduler,
        workers=workers,
        tasks=tuple(tasks),
        tolerance=base_cfg.report.tolerance,
    )


def check_scheduler(key: str, value: Any) -> str:
    """local, synchronous or a scheduler address (tcp://HOST:PORT, tls://…)."""
    if not isinstance(value, str) or not (value in SCHEDULERS or _ADDRESS.match(value)):
        raise InputError(
            key,
            f"must be local, synchronous or a scheduler address such as tcp://10.0.0.5:8786 "
            f"(got {value!r})",
        )
    return value


def check_workers(key: str, value: Any) -> int:
    """A whole number of worker processes, 1 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(key, f"must be a whole number of worker processes, 1 or more ({value!r})")
    return value


def _base(b: dict[str, Any], here: Path) -> tuple[Path, dict[str, Any], RunConfig]:
    base = b.get("base")
    if not isinstance(base, str) or not base:
        raise InputError("batch.base", "required: the report configuration every task starts from")
    path = (here / base).resolve()
    if not path.is_file():
        raise InputError("batch.base", f"file not found: {path} (relative to the batch file)")
    text = path.read_text(encoding="utf-8")
    try:
        cfg = parse_config(text)
    except InputError as exc:
        raise InputError(exc.argument, f"{exc.message} (in batch.base = {base!r})") from None
    return path, tomllib.loads(text), cfg


def _grid(raw: Any, has_portfolios: bool) -> dict[str, list[Any]]:
    if not isinstance(raw, dict):
        raise InputError("batch.grid", 'must be a table: "section.key" = [values, …]')
    defaults = RunConfig()
    sections = [f.name for f in dataclasses.fields(RunConfig) if f.name != "source_text"]
    grid: dict[str, list[Any]] = {}
    for key, values in raw.items():
        where = f'batch.grid."{key}"'
        if isinstance(values, dict):  # [batch.grid] regimes.method = … (unquoted) nests a table
            raise InputError(
                f"batch.grid.{key}", f'quote the dotted key: "{key}.<name>" = [values, …]'
            )
        if not _GRID_KEY.match(key):
            raise InputError(where, 'must be a dotted configuration key such as "regimes.method"')
        section, name = key.split(".")
        if section not in sections:
            raise InputError(where, f"unknown section {section!r}; allowed: {', '.join(sections)}")
        fields = [f.name for f in dataclasses.fields(getattr(defaults, section))]
        if name not in fields:
            raise InputError(where, f"unknown key; allowed in [{section}]: {', '.join(fields)}")
        if has_portfolios and key in PORTFOLIO_SETS:
            raise InputError(
                where, "set by each portfolio: give the assets and weights in [[batch.portfolios]]"
            )
        if not isinstance(values, list) or not values:
            raise InputError(where, "must be a non-empty list of values, e.g. [0, 10, 25]")
        for i, v in enumerate(values):
            if any(type(u) is type(v) and u == v for u in values[:i]):
                raise InputError(f"{where}[{i}]", f"{v!r} appears twice: one task each is enough")
        grid[key] = values
    return grid


def _portfolios(b: dict[str, Any], here: Path, base: RunConfig) -> list[Portfolio]:
    items = b.get("portfolios", [])
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise InputError("batch.portfolios", "must be [[batch.portfolios]] tables (name, weights)")
    out = [_portfolio(item, f"batch.portfolios[{i}]") for i, item in enumerate(items)]
    csv_name = b.get("portfolios_csv")
    if csv_name is not None:
        if not isinstance(csv_name, str) or not csv_name:
            raise InputError("batch.portfolios_csv", "must be a file name (text)")
        out += read_portfolios_csv(here / csv_name, base.data.columns)
    seen: dict[str, str] = {}
    for p in out:
        if p.name in seen:
            raise InputError(f"{p.where}.name", f"{p.name!r} is also the name of {seen[p.name]}")
        seen[p.name] = p.where
    return out


def _portfolio(item: dict[str, Any], where: str) -> Portfolio:
    extra = [k for k in item if k not in PORTFOLIO_KEYS]
    if extra:
        raise InputError(
            f"{where}.{extra[0]}", f"unknown key; allowed: {', '.join(PORTFOLIO_KEYS)}"
        )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or not name.isprintable() or len(name) > 64:
        raise InputError(f"{where}.name", f"required: a name of 1 to 64 characters (got {name!r})")
    weights, columns = item.get("weights"), item.get("columns")
    if weights is None and columns is None:
        raise InputError(where, "give weights (over the base's data.columns) or columns (or both)")
    if weights is not None:
        if not isinstance(weights, list) or not weights:
            raise InputError(f"{where}.weights", "must be a non-empty list of numbers")
        for i, w in enumerate(weights):
            if isinstance(w, bool) or not isinstance(w, int | float):
                raise InputError(f"{where}.weights[{i}]", f"must be a number (got {w!r})")
        weights = tuple(float(w) for w in weights)
    if columns is not None:
        if not isinstance(columns, list) or not columns:
            raise InputError(f"{where}.columns", "must be a non-empty list of series names")
        for i, c in enumerate(columns):
            if not isinstance(c, str) or not c:
                raise InputError(f"{where}.columns[{i}]", f"must be a series name (got {c!r})")
        columns = tuple(columns)
    return Portfolio(name.strip(), weights, columns, where)


def read_portfolios_csv(path: Path, base_columns: tuple[str, ...]) -> list[Portfolio]:
    """Portfolios from a CSV file: a header `name,ASSET1,ASSET2,…` and one row per portfolio
    with its name and a weight per asset. A blank cell leaves the asset out of that portfolio
    (0 keeps it in, with no weight); a row holding exactly the base's assets keeps the base's
    data (its weights are put in data.columns' order), any other set of assets is that
    portfolio's own asset list, in the header's order."""
    key = "batch.portfolios_csv"
    if not path.is_file():
        raise InputError(key, f"file not found: {path} (relative to the batch file)")
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise InputError(key, f"{path} is empty: write a header name,ASSET1,ASSET2,…")
    header = [h.strip() for h in rows[0]]
    if header[0].lower() != "name" or len(header) < 2:
        raise InputError(f"{key}[line 1]", f"the header must be name,ASSET1,… (got {rows[0]})")
    assets = header[1:]
    bad = [a for a in assets if not a or assets.count(a) > 1]
    if bad:
        raise InputError(f"{key}[line 1]", f"asset names must be non-blank and unique ({bad})")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        where = f"{key}[line {n}]"
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            raise InputError(where, f"{len(row)} cells for {len(header)} header columns")
        name = row[0].strip()
        if not name or not name.isprintable() or len(name) > 64:
            raise InputError(f"{where}.name", f"required: a name of 1 to 64 characters ({name!r})")
        cols, weights = [], []
        for asset, cell in zip(assets, row[1:], strict=False):
            if not cell.strip():
                continue
            try:
                w = float(cell)
            except ValueError:
                raise InputError(f"{where}.{asset}", f"not a number: {cell!r}") from None
            if not math.isfinite(w):
                raise InputError(f"{where}.{asset}", f"must be a finite number (got {cell!r})")
            cols.append(asset)
            weights.append(w)
        if not cols:
            raise InputError(where, f"portfolio {name!r} has no weights")
        if sorted(cols) == sorted(base_columns):
            by_asset = dict(zip(cols, weights, strict=True))
            out.append(Portfolio(name, tuple(by_asset[c] for c in base_columns), None, where))
        else:
            out.append(Portfolio(name, tuple(weights), tuple(cols), where))
    if not out:
        raise InputError(key, f"{path} lists no portfolio (one row per portfolio)")
    return out


# ------------------------------------------------------------------ tasks


def _tasks(
    base_raw: dict[str, Any], base_path: Path, portfolios: list[Portfolio], grid: dict[str, list]
) -> list[TaskSpec]:
    keys = list(grid)
    combos = list(itertools.product(*(list(enumerate(grid[k])) for k in keys)))
    tasks: list[TaskSpec] = []
    seen: dict[tuple[str, str], list[tuple[str, int, Any]]] = {}
    for p in portfolios:
        for combo in combos:
            raw = copy.deepcopy(base_raw)
            if p.columns is not None:
                raw.setdefault("data", {})["columns"] = list(p.columns)
                raw.setdefault("portfolio", {})["weights"] = list(p.weights or [])
            elif p.weights is not None:
                raw.setdefault("portfolio", {})["weights"] = list(p.weights)
            for key, (_, value) in zip(keys, combo, strict=True):
                section, name = key.split(".")
                raw.setdefault(section, {})[name] = copy.deepcopy(value)
            chosen = [(k, i, v) for k, (i, v) in zip(keys, combo, strict=True)]
            try:
                cfg = parse_config(dump_toml(raw))
            except InputError as exc:
                raise _blame(exc, p, chosen, base_path, len(portfolios) > 1) from None
            full = canonical(cfg)
            text = dump_toml(full)
            if (p.name, text) in seen:  # e.g. 10 and 10.0: one setting, one task
                other = seen[(p.name, text)]
                key, i, v = next(c for c, o in zip(chosen, other, strict=True) if c[1] != o[1])
                raise InputError(
                    f'batch.grid."{key}"[{i}]',
                    f"{v!r} gives the same configuration as value [{other[keys.index(key)][1]}]",
                )
            seen[(p.name, text)] = chosen
            tasks.append(
                TaskSpec(
                    index=len(tasks),
                    portfolio=p.name,
                    grid=tuple((k, v) for k, _, v in chosen),
                    config=dataclasses.replace(cfg, source_text=text),
                    text=text,
                    data_text=dump_toml({"data": full["data"]}),
                )
            )
    return tasks


def canonical(cfg: RunConfig) -> dict[str, dict[str, Any]]:
    """Every setting of a validated configuration, defaults included (None: absent), so two
    files that say the same thing in different words give the same text and task key."""
    return {
        f.name: {k: v for k, v in dataclasses.asdict(getattr(cfg, f.name)).items() if v is not None}
        for f in dataclasses.fields(cfg)
        if f.name != "source_text"
    }


def _blame(
    exc: InputError,
    p: Portfolio,
    chosen: list[tuple[str, int, Any]],
    base: Path,
    several_portfolios: bool,
) -> InputError:
    """Re-key an error in a task's configuration to the batch key that set the value."""
    arg = exc.argument

    def context(skip: str | None) -> str:
        parts = [f"portfolio {p.name!r}"] if several_portfolios else []
        parts += [f"{k} = {display_value(v)!r}" for k, _, v in chosen if k != skip]
        return ", ".join(parts)

    def with_(skip: str | None) -> str:
        ctx = context(skip)
        return f" (with {ctx})" if ctx else ""

    for key, i, _ in chosen:
        if arg == key or arg.startswith((key + ".", key + "[")):
            return InputError(f'batch.grid."{key}"[{i}]', exc.message + with_(key))
    sets = {"data.columns": p.columns, "portfolio.weights": p.weights}
    for key, value in sets.items():
        if value is not None and (arg == key or arg.startswith(key + "[")):
            field = key.split(".")[1]
            return InputError(f"{p.where}.{field}", exc.message + with_(None))
    ctx = context(None)
    return InputError(arg, f"{exc.message} (in batch.base = {base.name}{', ' if ctx else ''}{ctx})")
