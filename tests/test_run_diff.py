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


def test_shorter_run_is_compared_over_its_steps_and_missing_series_make_it_differ():
    b = {"loss": series([0, 100], [1.0, 0.5]), "moa_top1": series([0], [0.8])}
    diff = diff_metrics(A, b)
    assert diff.values == 2 and diff.window == (0, 100)
    assert diff.only_in_one == {"moa_top1": "B", "return": "A"} and not diff.identical


def test_runs_logged_at_different_steps_report_the_missing_steps():
    b = {"loss": series([0, 101, 200], [1.0, 0.5, 0.25]), "return": A["return"]}
    diff = diff_metrics(A, b)
    assert not diff.identical and not diff.differing
    assert diff.missing_steps == {"loss": ("A", [101])}


def test_resumed_run_is_compared_by_step_not_by_position():
    """A run resumed at step 100 logs from there on: equal values at equal steps are identical."""
    resumed = {name: series(entry["steps"][1:], entry["values"][1:]) for name, entry in A.items()}
    diff = diff_metrics(A, resumed)
    assert diff.identical and diff.window == (100, 200) and diff.values == 4


def test_a_step_missing_inside_the_common_range_is_reported():
    b = json.loads(json.dumps(A))
    for entry in b.values():
        del entry["steps"][1], entry["values"][1], entry["timestamps"][1]
    diff = diff_metrics(A, b)
    assert not diff.identical and diff.missing_steps == {"loss": ("B", [100]), "return": ("B", [100])}


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


def test_a_run_killed_and_resumed_in_place_merges_to_its_uninterrupted_twin():
    """Part 1 was killed after step 100's checkpoint (its step-150 value was never confirmed); part 2
    resumed from step 100 and logged 150 and 200 again: merged, the run equals the uninterrupted one."""
    from utils.run_diff import merge_metrics
    full = {"loss": series([0, 100, 150, 200], [1.0, 0.5, 0.4, 0.25])}
    killed = {"loss": series([0, 100, 150], [1.0, 0.5, 0.3])}
    resumed = {"loss": series([150, 200], [0.4, 0.25])}
    merged = merge_metrics([killed, resumed])
    assert merged["loss"]["steps"] == [0, 100, 150, 200]
    assert diff_metrics(full, merged).identical
    assert not diff_metrics(full, merge_metrics([resumed, killed])).identical     # order matters: later wins


def test_script_compares_a_folder_holding_one_resumed_run(tmp_path):
    full = {"loss": series([0, 100, 200], [1.0, 0.5, 0.25])}
    _sacred_run(str(tmp_path / "full" / "sacred" / "1"), full)
    for run_id, (steps, values) in {"1": ([0, 100], [1.0, 0.5]), "2": ([200], [0.25])}.items():
        folder = _sacred_run(str(tmp_path / "split" / "sacred" / run_id), {"loss": series(steps, values)})
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump({"seed": 0, "unique_token": "tok"}, f)
    proc = subprocess.run([sys.executable, "-m", "scripts.compare_runs", str(tmp_path / "full"), str(tmp_path / "split")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and "one run resumed in place" in proc.stdout, proc.stdout + proc.stderr
