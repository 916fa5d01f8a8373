"""scripts/provision.sh on a machine that lacks the tools: one line per missing thing, exit 1."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_machine_without_node_or_postgres_gets_one_line_each_and_a_non_zero_exit(tmp_path):
    for tool in ("bash", "id", "ls", "sort", "tail", "seq", "touch", "dirname"):
        os.symlink(shutil.which(tool), tmp_path / tool)         # a PATH with no node, npm, apt or psql
    run = subprocess.run([str(tmp_path / "bash"), "scripts/provision.sh"], cwd=ROOT, capture_output=True,
                         text=True, env={"PATH": str(tmp_path), "HOME": str(tmp_path)}, timeout=60)
    lines = run.stderr.splitlines()
    assert run.returncode == 1
    assert any(line.startswith("provision: missing node/npm:") and "apt-get install nodejs npm" in line
               for line in lines)
    assert any(line.startswith("provision: missing postgresql-client:") for line in lines)
    assert all(line.startswith("provision: missing ") for line in lines), run.stderr
