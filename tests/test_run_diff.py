"""scripts/compare_runs.py: bit-for-bit comparison of two runs' logged metrics."""
import json
import os
import subprocess
import sys

from utils.run_diff import diff_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def series(steps, values):
    return {"steps": list(steps), "values": list(values), "timestamps": ["t"] * len(steps)}


A = {"loss": series([0, 100, 200], [1.0, 0.5, 0.25]), "return": series([0, 100, 200], [3.0, 4.0, 5.0])}


def test_identical_metrics():
    diff = diff_metrics(A, json.loads(json.dumps(A)))
    assert diff.identical and diff.series == 2 and diff.values == 6


def test_first_difference_is_reported_and_until_stops_before_it():
    b = json.loads(json.dumps(A))
    b["loss"]["values"][2] = 0.25000000000000006
    diff = diff_metrics(A, b)
    assert not diff.identical and diff.differing == {"loss": (200, 0.25, 0.25000000000000006)}
    assert diff_metrics(A, b, until=100).identical


def test_shorter_run_is_compared_over_its_steps_and_extra_series_are_listed():
    b = {"loss": series([0, 100], [1.0, 0.5]), "moa_top1": series([0], [0.8])}
    diff = diff_metrics(A, b)
    assert diff.identical and diff.values == 2 and diff.only_in_one == ["moa_top1", "return"]


def test_runs_logged_at_different_steps_differ():
    b = {"loss": series([0, 101, 200], [1.0, 0.5, 0.25])}
    assert diff_metrics(A, b).differing == {"loss": (100, 0.5, 0.5)}


def test_nothing_compared_is_not_identical():
    assert not diff_metrics(A, {}).identical


def _sacred_run(folder, metrics):
    os.makedirs(folder)
    for name, content in (("config.json", {"seed": 0}), ("run.json", {"status": "COMPLETED"}), ("metrics.json", metrics)):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(content, f)
    return folder


def test_script_exit_status(tmp_path):
    same = _sacred_run(str(tmp_path / "a" / "sacred" / "1"), A)
    b = json.loads(json.dumps(A))
    b["return"]["values"][1] = 4.5
    other = _sacred_run(str(tmp_path / "b" / "sacred" / "1"), b)
    script = ["-m", "scripts.compare_runs"]
    ok = subprocess.run([sys.executable, *script, same, same], capture_output=True, text=True, cwd=ROOT)
    bad = subprocess.run([sys.executable, *script, same, other], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "identical" in ok.stdout
    assert bad.returncode == 1 and "differs: return at step 100: 4.0 vs 4.5" in bad.stdout
    none = subprocess.run([sys.executable, *script, str(tmp_path), same], capture_output=True, text=True, cwd=ROOT)
    assert none.returncode == 2 and "holds 2 Sacred runs" in none.stderr
