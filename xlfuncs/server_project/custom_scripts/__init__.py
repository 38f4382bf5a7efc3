"""No scripts: the project offers custom functions only (replaces xlwings Server's examples)."""
