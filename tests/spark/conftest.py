"""One live server for the Spark tests, with nodes enough for a master, two workers and a job of another
user (Spark reserves its three nodes), Spark's venv (scripts/spark builds it; scripts/test does), and the
advanced tutorial's job and ``spark-submit`` command, which every test runs as written."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.services.spark import DEFAULT_VENV, is_built
from support.needs import missing
from support.server import LiveServer
from support.service_accounts import reachable_server

NODES = 4
TUTORIAL = Path(__file__).parents[2] / "docs" / "services-tutorial-advanced.md"
#: What the tutorial's job, sum.py, prints: the sum of 1..1,000,000.
SUM_PRINTED = "sum: 500000500000"
#: The master's address and its secret as the tutorial writes them.
MASTER_PLACEHOLDER = "spark://127.0.0.1:PORT"
SECRET_PLACEHOLDER = "spark.authenticate.secret=SECRET"


@pytest.fixture(scope="package")
def spark_venv() -> Path:
    if shutil.which("java") is None:
        missing("no java: Spark runs on Debian's default-jre-headless (scripts/spark installs it)")
    if not is_built(DEFAULT_VENV):
        missing(f"no Spark venv in {DEFAULT_VENV}: scripts/spark builds it (scripts/test does)")
    return DEFAULT_VENV


@pytest.fixture(scope="package")
def spark_server(spark_venv: Path) -> Iterator[LiveServer]:
    with reachable_server(NODES) as started:
        yield started


def tutorial_files() -> dict[str, str]:
    """The blocks that follow a ``<!-- file: NAME -->`` marker in the tutorial."""
    return dict(re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", TUTORIAL.read_text(), flags=re.S))


def tutorial_commands() -> list[list[str]]:
    """The commands of the tutorial's ``sh`` block, continued lines joined, without comments."""
    block = re.search(r"```sh\n(.*?)```", TUTORIAL.read_text(), flags=re.S)
    assert block is not None
    text = "\n".join(line.split("#", 1)[0].rstrip() for line in block.group(1).splitlines())
    return [shlex.split(line) for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def is_spark_submit(words: list[str]) -> bool:
    """Whether the command runs spark-submit (after its ``NAME=VALUE`` settings)."""
    return any(word.endswith("/spark-submit") for word in words)


def spark_submit(master: str, secret: str, folder: Path) -> str:
    """Run the tutorial's ``spark-submit`` of its ``sum.py`` (written to ``folder``) against ``master``,
    giving ``secret``; its standard output."""
    (folder / "sum.py").write_text(tutorial_files()["sum.py"])
    (command,) = [words for words in tutorial_commands() if is_spark_submit(words)]
    settings = dict(word.split("=", 1) for word in command if re.fullmatch(r"[A-Z_]+=\S*", word))
    given = {MASTER_PLACEHOLDER: master, SECRET_PLACEHOLDER: f"spark.authenticate.secret={secret}"}
    argv = [given.get(word, word) for word in command[len(settings) :]]
    env = {**os.environ, **settings}
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout
