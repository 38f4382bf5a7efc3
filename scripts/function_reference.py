"""Write docs/functions.md from the Excel function catalogue (xlfuncs/functions.py).

.venv/bin/python scripts/function_reference.py           (tests/test_docs.py keeps it in sync)
.venv/bin/python scripts/function_reference.py --check   exit 1 if the file is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "functions.md"


def render() -> str:
    from xlfuncs.catalogue import reference_markdown
    from xlfuncs.functions import CATALOGUE

    return reference_markdown(CATALOGUE.values())


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text else 1)
    OUT.write_text(text)
    print(f"wrote {OUT}")
