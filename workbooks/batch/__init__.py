"""`regime-risk batch`: hundreds of portfolios and parameter sweeps, one command.

A batch file's `[batch]` section names a base report configuration, a grid of configuration
keys to sweep and the portfolios to run (see templates/batch_example.toml). Every (portfolio,
configuration) is a task: `run_analysis` (with its walk-forward static-versus-dynamic
comparison) and, if asked, its report workbook. Tasks run on a Dask cluster (a LocalCluster by
default), each keyed by the content of its data and configuration, so a batch that stops
resumes where it stopped. Parts:

  spec     the batch file → one validated RunConfig per task (light imports: fast errors)
  task     what a task runs (worker side) and its result file
  store    the output directory: task files, results.parquet, nav.parquet
  runner   the schedulers, progress, resume; `run_batch`
  summary  summary.xlsx (ranking, aggregates, deflated Sharpe ratio, checks)

docs/scale.md has the measured costs and a projection to 10,000 tasks.
"""

from __future__ import annotations

from workbooks.batch.spec import BatchSpec, TaskSpec, load_batch, parse_batch

__all__ = ["BatchSpec", "TaskSpec", "load_batch", "parse_batch"]
