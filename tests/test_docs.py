"""The documentation stands on its own: links resolve inside the repository, nothing names a
design file outside it, and the pages speak of the code, not of how it was developed."""
from __future__ import annotations

import glob
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = [os.path.join(REPO, "README.md"), *glob.glob(os.path.join(REPO, "docs", "**", "*.md"), recursive=True)]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def _text_files():
    for folder in ("src", "config", "scripts", "benchmarks", "tests", "docs", ".ci"):
        for path in glob.glob(os.path.join(REPO, folder, "**", "*"), recursive=True):
            if os.path.isfile(path) and not path.endswith((".png", ".gif", ".pyc")) and path != os.path.abspath(__file__):
                yield path
    yield from (os.path.join(REPO, name) for name in ("README.md", "setup.py", "pytest.ini"))


def test_no_file_points_outside_the_repository():
    outside = re.compile(r"SPEC §|SPEC\.md|\.\./shared")
    found = [os.path.relpath(p, REPO) for p in _text_files() if outside.search(open(p, errors="ignore").read())]
    assert found == []


def test_pages_do_not_speak_of_sessions_or_issues():
    history = re.compile(r"\bsessions?\b|\bissue #?\d+|(?<!\w)#\d+\b", re.I)
    found = {os.path.relpath(p, REPO): history.findall(open(p).read()) for p in PAGES}
    assert {page: hits for page, hits in found.items() if hits} == {}


def test_relative_links_resolve():
    broken = []
    for page in PAGES:
        for target, _ in LINK.findall(open(page).read()):
            if "://" not in target and not os.path.exists(os.path.join(os.path.dirname(page), target)):
                broken.append(f"{os.path.relpath(page, REPO)} -> {target}")
    assert broken == []


def test_readme_is_short_and_has_the_two_commands():
    text = open(os.path.join(REPO, "README.md")).read()
    assert len(text.splitlines()) <= 200
    assert "pip install torch==2.13.0 && pip install . && python src/main.py" in text
    assert 'pip install torch==2.13.0 && pip install ".[test]" && python -m pytest' in text


def test_ci_runs_the_readme_commands():
    ci = open(os.path.join(REPO, ".ci", "run")).read()
    assert 'pip install "torch==2.13.0" && pip install . && python3 src/main.py' in ci
    assert 'pip install "torch==2.13.0" && pip install ".[test]" && python3 -m pytest' in ci
