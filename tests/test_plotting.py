"""Curves from Sacred run folders: grouping by configuration, mean ± std, clear errors."""
import json
import os

import numpy as np
import pytest

from tools.plotting import load_curve, mean_std, plot_curves


def write_run(root, run_id, seed, values, roles=("ppo", "NS")):
    run = root / str(run_id)
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"name": "ppo", "env_config": "stag_hunt_small",
                                                 "roles": list(roles), "seed": seed}))
    (run / "metrics.json").write_text(json.dumps(
        {"test_return_mean": {"steps": [0, 10, 20], "values": values, "timestamps": ["", "", ""]}}))
    return str(run)


def test_mean_std_over_seeds_and_png(tmp_path):
    a = write_run(tmp_path, 1, 0, [0.0, 2.0, 4.0])
    b = write_run(tmp_path, 2, 1, [2.0, 4.0, 6.0])
    c = write_run(tmp_path, 3, 0, [1.0, 1.0, 1.0], roles=("ppo", "NH"))
    x, mean, std = mean_std([load_curve(a, "test_return_mean"), load_curve(b, "test_return_mean")], points=3)
    assert np.allclose(x, [0, 10, 20]) and np.allclose(mean, [1, 3, 5]) and np.allclose(std, [1, 1, 1])
    out = tmp_path / "curve.png"
    groups = plot_curves([a, b, c], "test_return_mean", str(out))
    assert sorted(groups.values()) == [1, 2]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_metric_names_the_available_ones(tmp_path):
    run = write_run(tmp_path, 1, 0, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="metric 'nope' not in .*it has: test_return_mean"):
        load_curve(run, "nope")
    with pytest.raises(ValueError, match="not a Sacred run folder"):
        load_curve(os.path.join(str(tmp_path), "missing"), "x")


def test_sweep_folders_are_searched_and_adaptation_curves_use_episodes(tmp_path):
    from tools.plotting import expand_run_dirs, x_label
    done = write_run(tmp_path / "sweep" / "roles=ppo-NSx3__seed0" / "sacred", 1, 0, [0.0, 1.0, 2.0])
    failed = write_run(tmp_path / "sweep" / "roles=ppo-NSx3__seed1" / "sacred", 1, 1, [0.0, 1.0, 2.0])
    for run, status in ((done, "COMPLETED"), (failed, "FAILED")):
        with open(os.path.join(run, "run.json"), "w") as f:
            json.dump({"status": status}, f)
    assert expand_run_dirs([str(tmp_path / "sweep")]) == [done]
    assert sorted(expand_run_dirs([str(tmp_path / "sweep")], statuses=None)) == [done, failed]
    assert expand_run_dirs([done]) == [done]
    with pytest.raises(ValueError, match="no Sacred runs"):
        expand_run_dirs([str(tmp_path)], statuses=("RUNNING",))
    assert x_label("adapt_focal_return") == "episodes" and x_label("test_return_mean") == "env steps"
    groups = plot_curves([done, failed], "test_return_mean", str(tmp_path / "c.png"), label_keys=["seed"])
    assert groups == {"0": 1, "1": 1}


def test_smoothing_is_a_trailing_mean(tmp_path):
    from tools.plotting import smooth
    curve = load_curve(write_run(tmp_path, 1, 0, [0.0, 2.0, 4.0]), "test_return_mean")
    smoothed = smooth(curve, 2)
    assert smoothed.steps.tolist() == [10, 20] and smoothed.values.tolist() == [1.0, 3.0]
    assert smooth(curve, 1) is curve
    with pytest.raises(ValueError, match="fewer than the smoothing window 4"):
        smooth(curve, 4)


def test_where_selects_runs_by_config_and_derived_keys(tmp_path):
    from tools.results_table import parse_where
    ns = write_run(tmp_path, 1, 0, [0.0, 1.0, 2.0], roles=("ppo", "NS", "NS", "NS"))
    nh = write_run(tmp_path, 2, 0, [0.0, 1.0, 2.0], roles=("ppo", "NH", "NH", "NH"))
    groups = plot_curves([ns, nh], "test_return_mean", str(tmp_path / "w.png"), where=parse_where(["coplayers=3 NS"]))
    assert groups == {"ppo | stag_hunt_small | ppo-NS-NS-NS": 1}
    with pytest.raises(ValueError, match="none of the 2 runs has"):
        plot_curves([ns, nh], "test_return_mean", str(tmp_path / "x.png"), where={"seed": 5})
    with pytest.raises(Exception, match="expected key=value, got 'seed'"):
        parse_where(["seed"])


def test_more_curves_than_colours_change_line_style(tmp_path):
    from tools.plotting import curve_style
    styles = [curve_style(i) for i in range(40)]
    assert len(set(styles)) == 40 and styles[:10] == [(i, "-") for i in range(10)] and styles[10] == (0, "--")
    runs = [write_run(tmp_path, i, i, [0.0, float(i), 1.0]) for i in range(12)]
    assert len(plot_curves(runs, "test_return_mean", str(tmp_path / "many.png"), label_keys=["seed"])) == 12


def test_a_group_key_missing_from_older_runs_needs_an_explicit_value(tmp_path):
    old = write_run(tmp_path, 1, 0, [0.0, 1.0, 2.0])
    new = tmp_path / "2"
    write_run(tmp_path, 2, 0, [1.0, 2.0, 3.0])
    config = json.loads((new / "config.json").read_text())
    (new / "config.json").write_text(json.dumps({**config, "mcts_rollout_depth": 10}))
    with pytest.raises(ValueError, match="no config key 'mcts_rollout_depth'"):
        plot_curves([old, str(new)], "test_return_mean", str(tmp_path / "c.png"), label_keys=["mcts_rollout_depth"])
    groups = plot_curves([old, str(new)], "test_return_mean", str(tmp_path / "c.png"),
                         label_keys=["mcts_rollout_depth"], missing={"mcts_rollout_depth": "0"})
    assert groups == {"0": 1, "10": 1}
