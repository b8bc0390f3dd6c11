"""Synthetic repositories for the benchmark: N ``dataset`` artifacts with 3-5 tags each.

Tags come from a 200-tag vocabulary ``t000``..``t199``. About 1% of the artifacts carry both
tags of :data:`QUERY_TAGS` (the 2-tag query of the benchmark); every other artifact holds at
most one of them. The repository also holds a ``dataset`` automation so that ``cm`` (which
refuses unknown automations) can search it; cairn needs none.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

VOCABULARY = [f"t{i:03d}" for i in range(200)]
QUERY_TAGS = ("t007", "t042")
MATCH_RATE = 0.01
DATASET_AUTOMATION_UID = "d5a7a5e7a5e7a5e7"
_FORMAT = 1  # bump when the layout changes, so old repositories are rebuilt

_MODULE = '''"""The dataset automation of the benchmark repository: CM's common actions only."""

from cmind.automation import Automation


class CAutomation(Automation):
    def __init__(self, cmind, automation_file):
        super().__init__(cmind, __file__)
'''


def alias_of(i: int) -> str:
    return f"ds-{i:06d}"


def uid_of(i: int) -> str:
    return f"{0xB000000000000000 + i:016x}"


def tags_of(rng: random.Random) -> list[str]:
    """3-5 tags; both query tags with probability MATCH_RATE, else at most one of them."""
    if rng.random() < MATCH_RATE:
        others = [t for t in rng.sample(VOCABULARY, 5) if t not in QUERY_TAGS]
        return [*QUERY_TAGS, *others[: rng.randint(1, 3)]]
    tags = rng.sample(VOCABULARY, rng.randint(3, 5))
    if all(t in tags for t in QUERY_TAGS):
        tags.remove(QUERY_TAGS[1])
    return tags


def artifact_yaml(i: int, tags: list[str]) -> str:
    lines = [
        f"alias: {alias_of(i)}",
        f"uid: '{uid_of(i)}'",
        "automation_alias: dataset",
        f"automation_uid: '{DATASET_AUTOMATION_UID}'",
        f"name: Synthetic dataset {i}",
        f"size: {i * 37 % 100000}",
        "tags:",
        *(f"- {t}" for t in tags),
    ]
    return "\n".join(lines) + "\n"


def build(path: Path, size: int, seed: int = 1) -> int:
    """Create the repository of ``size`` artifacts at ``path`` (reused when already complete).

    Returns how many artifacts match the 2-tag query.
    """
    marker = path / ".bench-complete"
    expected = f"{_FORMAT} {size} {seed}"
    if marker.exists() and marker.read_text().split("\n")[0] == expected:
        return int(marker.read_text().split("\n")[1])
    if path.exists():
        shutil.rmtree(path)
    matches = _write(path, size, random.Random(seed))
    marker.write_text(f"{expected}\n{matches}\n")
    return matches


def _write(path: Path, size: int, rng: random.Random) -> int:
    (path / "dataset").mkdir(parents=True)
    (path / "cmr.yaml").write_text(
        f"alias: synth-{size}\nuid: '{0xC000000000000000 + size:016x}'\ngit: false\n"
    )
    _write_automation(path / "automation" / "dataset")
    matches = 0
    for i in range(size):
        tags = tags_of(rng)
        matches += all(t in tags for t in QUERY_TAGS)
        folder = path / "dataset" / alias_of(i)
        os.mkdir(folder)
        (folder / "_cm.yaml").write_text(artifact_yaml(i, tags))
    return matches


def _write_automation(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "_cm.yaml").write_text(
        "alias: dataset\n"
        f"uid: '{DATASET_AUTOMATION_UID}'\n"
        "automation_alias: automation\n"
        "automation_uid: bbeb15d8f0a944a4\n"
        "tags:\n- automation\n"
    )
    (folder / "module.py").write_text(_MODULE)
