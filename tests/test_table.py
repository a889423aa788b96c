"""Results tables: exact mean ± std on hand-written Sacred folders, and on real tiny runs."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from utils.errors import ConfigError
from tools.results_table import build_table, coplayers, find_runs, render_markdown
from tools.sweep import BackendOptions, Sweep, run_local

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = ["-m", "scripts.table"]


def write_run(root, run_id, name, roles, seed, values, status="COMPLETED", metric="test_return_mean"):
    run = root / "sacred" / str(run_id)
    run.mkdir(parents=True)
    config = {"name": name, "roles": roles, "seed": seed, "env_config": "stag_hunt_small",
              "env_args": {"grid_size": 4}, "local_results_path": str(root)}
    (run / "config.json").write_text(json.dumps(config))
    (run / "run.json").write_text(json.dumps({"status": status}))
    (run / "metrics.json").write_text(json.dumps(
        {metric: {"steps": list(range(len(values))), "values": values, "timestamps": [""] * len(values)}}))


@pytest.fixture
def fake_runs(tmp_path):
    write_run(tmp_path / "a", 1, "ppo", ["ppo", "NS"], 0, [0.0, 1.0, 3.0])
    write_run(tmp_path / "a", 2, "ppo", ["ppo", "NS"], 1, [0.0, 2.0, 5.0])
    write_run(tmp_path / "b", 1, "ppo", ["ppo", "NS"], 2, [0.0, 0.0, 10.0])
    write_run(tmp_path / "b", 2, "ppo", ["ppo", "ppo"], 0, [4.0, 4.0])
    write_run(tmp_path / "c" / "deep", 1, "hop", ["hop", "NS"], 0, [7.0], metric="test_return_role_hop_mean")
    write_run(tmp_path / "c", 1, "ppo", ["ppo", "NS"], 3, [100.0], status="FAILED")
    return tmp_path


def test_mean_std_n_per_cell(fake_runs):
    runs = find_runs([str(fake_runs)])
    assert len(runs) == 6
    table = build_table(runs, "test_return_mean", ["name"], ["roles"])
    cell = table.cells[("ppo", "ppo,NS")]
    assert cell.values == [3.0, 5.0, 10.0]
    assert cell.text(2) == f"6.00 ± {np.std([3, 5, 10], ddof=1):.2f} (n=3)"
    assert table.cells[("ppo", "ppo,ppo")].text(1) == "4.0 (n=1)"
    assert any("status FAILED" in s for s in table.skipped) and any("no metric" in s for s in table.skipped)
    last2 = build_table(runs, "test_return_mean", ["name"], ["roles"], last=2)
    assert last2.cells[("ppo", "ppo,NS")].values == [2.0, 3.5, 5.0]
    everything = build_table(runs, "test_return_mean", ["name"], ["roles"], statuses=None)
    assert len(everything.cells[("ppo", "ppo,NS")].values) == 4
    text = render_markdown(table, "test_return_mean", 1)
    assert text.splitlines()[:3] == ["| name \\ roles | ppo,NS | ppo,ppo |", "|---|---|---|",
                                     f"| ppo | {cell.text(2)} | 4.00 (n=1) |"]


def test_metric_template_where_and_nested_keys(fake_runs):
    runs = find_runs([str(fake_runs)])
    focal = build_table(runs, "test_return_role_{name}_mean", ["name", "env_args.grid_size"], [])
    assert list(focal.cells) == [("hop, 4", "all")] and focal.cells[("hop, 4", "all")].values == [7.0]
    seeds = build_table(runs, "test_return_mean", ["seed"], [], where={"roles": ["ppo", "NS"]})
    assert seeds.rows == ["0", "1", "2"]
    with pytest.raises(ConfigError, match="no config key 'nope'"):
        build_table(runs, "x_{nope}", ["name"], [])
    with pytest.raises(ConfigError, match="has no config key 'missing'"):
        build_table(runs, "test_return_mean", ["missing"], [])


def test_cli_writes_markdown_and_names_metrics(fake_runs, tmp_path):
    out = tmp_path / "out" / "table.md"
    proc = subprocess.run([sys.executable, *TABLE, str(fake_runs / "a"), str(fake_runs / "b"), "--rows", "name",
                           "--cols", "roles", "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == proc.stdout and "| ppo | 6.00 ± 3.61 (n=3) | 4.00 (n=1) |" in proc.stdout
    bad = subprocess.run([sys.executable, *TABLE, str(fake_runs), "--metric", "nope"], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "metrics there: test_return_mean, test_return_role_hop_mean" in bad.stderr


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    """Two tiny real ppo runs (2 seeds) recorded by Sacred, run through the sweep."""
    results = tmp_path_factory.mktemp("table") / "sweep"
    fixed = {"t_max": 100, "batch_size_run": 4, "buffer_size": 4, "batch_size": 4, "test_nepisode": 4,
             "test_interval": 100, "log_interval": 100, "ppo_epochs": 1, "roles": ["ppo", "NS", "NS", "NS"]}
    sweep = Sweep("ppo", "stag_hunt_small", {}, [0, 1], fixed, str(results))
    assert run_local(sweep, sweep.runs(), BackendOptions(workers=2)) == 0
    return results


def test_table_of_real_runs(real_runs):
    runs = find_runs([str(real_runs)])
    assert sorted(r.config["seed"] for r in runs) == [0, 1] and {r.status for r in runs} == {"COMPLETED"}
    focal = build_table(runs, "test_return_role_{name}_mean", ["name"], ["roles"])
    cell = focal.cells[("ppo", "ppo,NS,NS,NS")]
    expected = [r.metrics["test_return_role_ppo_mean"]["values"][-1] for r in runs]
    assert sorted(cell.values) == sorted(expected) and len(cell.values) == 2
    slot0 = build_table(runs, "test_return_slot0_mean", ["name"], ["roles"])
    assert len(slot0.cells[("ppo", "ppo,NS,NS,NS")].values) == 2


def test_coplayers_column_is_shared_across_algorithms(fake_runs):
    write_run(fake_runs / "d", 1, "hop", ["hop", "hop"], 0, [9.0])
    write_run(fake_runs / "d", 2, "hop", ["NS", "hop", "NH", "RAND"], 0, [1.0])
    runs = find_runs([str(fake_runs)])
    table = build_table(runs, "test_return_mean", ["name"], ["coplayers"], statuses=None)
    assert table.cells[("ppo", "1 NS")].values == [3.0, 5.0, 10.0, 100.0]
    assert table.cells[("ppo", "self-play")].values == [4.0] and table.cells[("hop", "self-play")].values == [9.0]
    assert table.cells[("hop", "NS+NH+RAND")].values == [1.0]
    frozen = "ckpt:results/models/ppo__stag_hunt_small__ppo-NSx3__seed0__2026-11-22_07-00-00/200000"
    assert coplayers({"name": "hop", "roles": ["hop", frozen, frozen, frozen]}) == \
        "3 ckpt:ppo__stag_hunt_small__ppo-NSx3__seed0"
    assert coplayers({"name": "hop", "roles": ["hop", "ckpt:saved/policy"]}) == "1 ckpt:policy"
    assert set(build_table(runs, "test_return_mean", ["from_checkpoint"], [], statuses=None).rows) == {"False"}
