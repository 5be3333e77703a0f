"""Run `rasa data validate --fail-on-warnings` on a copy of the project plus extra NLU data."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot import PROJECT_ROOT, RASA_EXECUTABLE


def _validate(project: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESO_")}
    return subprocess.run(
        [RASA_EXECUTABLE, "data", "validate", "--fail-on-warnings"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
    )


def _warnings(result: subprocess.CompletedProcess) -> set[str]:
    text = result.stdout + result.stderr
    return {line.strip() for line in text.splitlines() if "warn" in line.lower()}


def assert_rasa_validate_accepts(export_text: str, workdir: Path) -> None:
    """The export, saved under data/nlu/, adds no error or warning to the project's data.

    When the project's own data validates cleanly (the normal case) the run with the
    export must exit 0; otherwise it must at least add no new warning.
    """
    project = workdir / "project"
    project.mkdir()
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    shutil.copytree(PROJECT_ROOT / "data", project / "data")
    baseline = _validate(project)
    (project / "data" / "nlu" / "staff_corrections.yml").write_text(export_text, encoding="utf-8")
    result = _validate(project)
    if baseline.returncode == 0:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    else:
        new = _warnings(result) - _warnings(baseline)
        assert not new, "\n".join(sorted(new))
