"""What can be tested of setup: finding Python 3.10, port checks, training fingerprint."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import PROJECT_ROOT
from bot.config import get_settings
from bot.serve import SERVICES, PortInUse, ensure_port_free
from bot.training import TRAINING_INPUTS, fingerprint, training_command

FIND_PYTHON = PROJECT_ROOT / "scripts" / "find-python.sh"


def run_find_python(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(FIND_PYTHON)], env=env, capture_output=True, text=True)


def test_find_python_explains_how_to_get_python_310_when_missing(tmp_path: Path) -> None:
    # A PATH with bash and coreutils only, and an empty pyenv root.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "ls", "sort", "cat", "dirname"):
        os.symlink(subprocess.check_output(["which", tool], text=True).strip(), bin_dir / tool)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run_find_python(env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Python 3.10 not found" in result.stderr
    assert "pyenv install 3.10" in result.stderr
    assert "apt-get install python3.10" in result.stderr


def test_find_python_uses_pyenv_when_not_on_path(tmp_path: Path) -> None:
    fake = tmp_path / "pyenv" / "versions" / "3.10.99" / "bin" / "python3.10"
    fake.parent.mkdir(parents=True)
    fake.symlink_to(sys.executable)  # the venv's own 3.10 stands in for pyenv's
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "ls", "sort", "cat"):
        os.symlink(subprocess.check_output(["which", tool], text=True).strip(), bin_dir / tool)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run_find_python(env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(fake)


def test_port_in_use_message_names_port_and_service(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("MESO_RASA_PORT", str(port))
        # Settings are read once per process; another test may have read them already.
        get_settings.cache_clear()
        try:
            with pytest.raises(PortInUse) as error:
                ensure_port_free(SERVICES["rasa"], host="127.0.0.1")
        finally:
            get_settings.cache_clear()
    message = str(error.value)
    assert f"port {port} (Rasa server) is already in use" in message
    assert "MESO_RASA_PORT" in message


def test_serve_exits_with_clear_message_when_port_taken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**os.environ, "MESO_WEB_PORT": str(port), "MESO_BIND_HOST": "127.0.0.1"}
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "check-ports"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"port {port} (demo clinic site + widget) is already in use" in result.stderr


def test_training_fingerprint_changes_only_with_training_inputs(tmp_path: Path) -> None:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "domain.yml").write_text("intents: []\n")
    (tmp_path / "data" / "nlu" / "a.yml").write_text("nlu: []\n")
    before = fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("docs do not trigger training\n")
    assert fingerprint(tmp_path) == before
    (tmp_path / "data" / "nlu" / "a.yml").write_text("nlu: [changed]\n")
    changed_data = fingerprint(tmp_path)
    assert changed_data != before
    # A trained pipeline component's code is part of the model too.
    (tmp_path / "bot" / "rasa_ext").mkdir(parents=True)
    (tmp_path / "bot" / "rasa_ext" / "intent_ensemble.py").write_text("# new code\n")
    assert fingerprint(tmp_path) != changed_data


def _imported_rasa_ext_modules(module: str) -> set[str]:
    """``module`` and the bot.rasa_ext modules it imports, transitively."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = PROJECT_ROOT / (name.replace(".", "/") + ".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.rasa_ext"):
                pending.append(node.module)
    return seen


def test_every_module_a_trained_component_runs_is_a_training_input() -> None:
    """Otherwise changing it (the fitting code, say) leaves a stale model in place."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    components = {
        step["name"].rpartition(".")[0]
        for step in config["pipeline"]
        if step["name"].startswith("bot.rasa_ext.")
    }
    modules = set().union(*(_imported_rasa_ext_modules(name) for name in components))
    files = {name.replace(".", "/") + ".py" for name in modules}
    assert files <= set(TRAINING_INPUTS), sorted(files - set(TRAINING_INPUTS))


def test_make_run_trains_through_the_startup_hook() -> None:
    command = training_command()
    assert command[:4] == [sys.executable, "-m", "bot.rasa_ext.server", "train"]
    assert command[-2:] == ["--fixed-model-name", "current"]


def test_action_server_refuses_to_start_without_a_fact_base(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MESO_FACTS_DB_URL": f"sqlite:///{tmp_path / 'missing.db'}",
        "MESO_ACTIONS_PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "actions"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "fact base not built" in result.stderr
    assert "python -m bot facts build" in result.stderr
    assert not (tmp_path / "missing.db").exists()


def test_a_command_group_imports_only_its_own_module() -> None:
    import subprocess
    import sys

    from bot.__main__ import COMMAND_GROUPS, groups_for

    assert groups_for(["serve", "staff"]) == {"serve": COMMAND_GROUPS["serve"]}
    assert groups_for(["--help"]) == COMMAND_GROUPS
    # The staff app, the web page and the action server start without TensorFlow.
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "tensorflow" not in result.stderr
    assert "rasa.core" not in result.stderr
