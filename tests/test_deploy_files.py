"""The container files agree with the README: the image installs the package the way the README's
install-and-run command does and runs the same `serve` command, as a user other than root, with
its data on a volume; the build context leaves out what must not go into an image.

No image is built here (these machines pull no base images): the files are read and compared.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path, PurePosixPath

import pytest
from support.soap import get

REPO = Path(__file__).resolve().parents[1]


def readme_install_and_run() -> list[list[str]]:
    """The commands of the README's install-and-run block, each split into words."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"\*\*Install and run\*\*.*?```sh\n(?P<cmd>.*?)\n```", text, re.S)
    assert found, "README.md has an install-and-run command block"
    return [shlex.split(part) for part in found["cmd"].split("&&")]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines = [ln for ln in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1].strip()) for ln in joined.splitlines() if ln.strip()]


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def pip_install_targets(words: list[str]) -> list[str]:
    """What a `... pip install ARGS` command installs (its arguments that are not options)."""
    at = words.index("install")
    assert PurePosixPath(words[at - 1]).name == "pip"
    return [w for w in words[at + 1 :] if not w.startswith("-")]


def program(words: list[str]) -> list[str]:
    """A command with its program's directory dropped (`.venv/bin/mktows` runs `mktows`)."""
    return [PurePosixPath(words[0]).name, *words[1:]]


def readme_commands() -> tuple[list[str], list[str]]:
    commands = readme_install_and_run()
    installs = [pip_install_targets(c) for c in commands if "install" in c and PurePosixPath(c[0]).name == "pip"]
    runs = [program(c) for c in commands if PurePosixPath(c[0]).name == "mktows"]
    assert len(installs) == 1 and len(runs) == 1, commands
    return installs[0], runs[0]


def test_image_installs_like_the_readme():
    readme_install, _ = readme_commands()
    runs = [shlex.split(args) for op, args in dockerfile() if op == "RUN" and "pip install" in args]
    assert len(runs) == 1, runs
    steps = [step.split() for step in " ".join(runs[0]).split("&&")]
    pip = [step for step in steps if "install" in step and PurePosixPath(step[0]).name == "pip"]
    assert [pip_install_targets(step) for step in pip] == [readme_install]
    assert "--no-cache-dir" in pip[0]


def test_image_runs_the_readme_serve_command():
    _, readme_run = readme_commands()
    cmds = [json.loads(args) for op, args in final_stage() if op == "CMD"]
    assert len(cmds) == 1 and program(cmds[0]) == readme_run == ["mktows", "serve"]


def test_image_runs_as_an_unprivileged_user_with_data_on_a_volume():
    stage = final_stage()
    users = [args for op, args in stage if op == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith(("root:", "0:"))
    user_at = max(i for i, (op, _) in enumerate(stage) if op == "USER")
    assert user_at < next(i for i, (op, _) in enumerate(stage) if op == "CMD")
    assert not [args for op, args in stage[user_at:] if op == "RUN"], "nothing runs as root after USER"
    created = next(args for op, args in stage if op == "RUN" and "useradd" in args)
    uid = re.search(r"--uid (\d+)", created)
    assert uid and int(uid[1]) >= 1000
    env = dict(re.findall(r"(MKTOWS_\w+)=(\S+)", " ".join(args for op, args in stage if op == "ENV")))
    assert env["MKTOWS_DB"] == "sqlite:////data/mktows.db"
    assert env["MKTOWS_HOST"] == "0.0.0.0"
    assert ("VOLUME", "/data") in stage and ("EXPOSE", "8080") in stage
    bases = [args for op, args in dockerfile() if op == "FROM"]
    assert all(b.split()[0] == "python:3.11-slim" for b in bases), bases


def test_healthcheck_asks_a_path_the_server_answers(asgi_server):
    checks = [args for op, args in final_stage() if op == "HEALTHCHECK"]
    assert len(checks) == 1
    path = re.search(r"127\.0\.0\.1:[^/]+(/\w+)", checks[0])
    assert path, checks[0]
    assert get(asgi_server.base_url + path[1]).status_code == 200


IGNORED = ["**/.venv", "**/.git", "**/mktows-data", "**/tests", "**/__pycache__"]


def dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves out `path` (a path and everything under an ignored folder)."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(PurePosixPath(prefix).name, bare):
                return True
    return False


@pytest.mark.parametrize("path", [".venv", ".git", "mktows-data", "tests", "mktows/__pycache__"])
def test_build_context_leaves_out_local_state(path):
    assert ignored(path, dockerignore())


def test_build_context_keeps_what_the_install_reads():
    patterns = dockerignore()
    needed = ["pyproject.toml", "README.md"]  # the README is the package's long description
    needed += [str(p.relative_to(REPO)) for p in (REPO / "mktows").rglob("*.py") if "__pycache__" not in p.parts]
    assert [p for p in needed if ignored(p, patterns)] == []
    copied = " ".join(args for op, args in dockerfile() if op == "COPY" and not args.startswith("--from"))
    assert "pyproject.toml" in copied and "README.md" in copied and re.search(r"\bmktows\b", copied)
