"""Re-run every ``$ kzdiplo ...`` example in README.md and put its real output back.

Each ```console block that starts with ``$ kzdiplo`` lines is run in order, in one
throwaway home directory (so the first command creates the default database, as for a
new user), at 80 columns (a new terminal's width) without colour. Each ``$`` line runs
in bash, as a reader would paste it (``"$(kzdiplo db path)"`` works), with this
checkout's ``kzdiplo`` first on the PATH. Run it after changing

    .venv/bin/python scripts/readme_tour.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```\n", re.S)


def run_block(block: str, env: dict[str, str], cwd: Path, home: Path) -> str:
    out = []
    for line in block.splitlines():
        if not line.startswith("$ "):
            continue
        out.append(line)
        result = subprocess.run(
            ["bash", "-c", line[2:]], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        text = (result.stderr + result.stdout).replace(str(home / "data"), "~/.local/share")
        out += [row.rstrip() for row in text.rstrip("\n").splitlines()]
    return "\n".join(out) + "\n"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        cwd = Path(tmp) / "work"
        cwd.mkdir()
        (cwd / "docs").symlink_to(ROOT / "docs")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")}
        bin_dir = Path(sys.executable).parent  # this checkout's kzdiplo
        env |= {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "COLUMNS": "80",
                "NO_COLOR": "1", "TERM": "dumb",
                "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}  # fmt: skip

        def replace(match: re.Match[str]) -> str:
            block = match.group(1)
            if not block.startswith("$ kzdiplo "):
                return match.group(0)
            return "```console\n" + run_block(block, env, cwd, home) + "```\n"

        updated = BLOCK.sub(replace, text)
    README.write_text(updated, encoding="utf-8")
    print("README.md: examples re-run" + (" (changed)" if updated != text else " (no change)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
