"""xlwings Server project directory: `regime-risk serve` points XLWINGS_PROJECT_DIR here."""
