"""Run records are replaced atomically: a write that fails half-way leaves the previous record."""
import json
import os

import pytest

from utils import run_records
from utils.run_records import AtomicFileStorageObserver


def _observer(tmp_path):
    observer = AtomicFileStorageObserver(str(tmp_path / "sacred"))
    observer.dir = str(tmp_path)
    return observer


def test_a_write_that_fails_half_way_keeps_the_previous_record(tmp_path, monkeypatch):
    observer = _observer(tmp_path)
    observer.save_json({"return_mean": {"values": [1.0]}}, "metrics.json")

    def half_then_crash(obj, f, **kwargs):
        f.write('{"return_mean": {"val')
        raise KeyboardInterrupt

    monkeypatch.setattr(run_records.json, "dump", half_then_crash)
    with pytest.raises(KeyboardInterrupt):
        observer.save_json({"return_mean": {"values": [1.0, 2.0]}}, "metrics.json")
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"return_mean": {"values": [1.0]}}
    assert os.listdir(tmp_path) == ["metrics.json"]          # no temporary file left behind


def test_a_completed_write_replaces_the_record(tmp_path):
    observer = _observer(tmp_path)
    observer.save_json({"a": 1}, "run.json")
    observer.save_json({"a": 2}, "run.json")
    assert json.loads((tmp_path / "run.json").read_text()) == {"a": 2}
    assert os.listdir(tmp_path) == ["run.json"]
