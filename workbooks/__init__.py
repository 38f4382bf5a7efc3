"""Report workbooks (openpyxl) built from engine results."""
