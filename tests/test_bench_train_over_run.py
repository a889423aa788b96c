"""``benchmarks.bench_train_over_run``: its arguments and the whole run's figure."""
import pytest

from benchmarks.bench_train_over_run import folder_pair, run_seconds_ratio


def test_a_run_costs_its_seconds_per_step_integrated_over_the_steps():
    # 100 and 50 steps/s against 100 and 100 over [0, 10]: 0.15 s against 0.10 s
    assert run_seconds_ratio([0, 10], [100.0, 100.0], [100.0, 50.0]) == pytest.approx(1.5)
    # the segment between far-apart checkpoints weighs more than a short one
    speeds = [100.0, 100.0, 100.0]
    assert run_seconds_ratio([0, 1, 11], speeds, [50.0, 100.0, 100.0]) == pytest.approx((0.015 + 0.1) / 0.11)
    assert run_seconds_ratio([0, 10, 11], speeds, [50.0, 100.0, 100.0]) == pytest.approx((0.15 + 0.01) / 0.11)
    # one checkpoint: the plain ratio of the seconds per step
    assert run_seconds_ratio([5], [400.0], [100.0]) == pytest.approx(4.0)


def test_a_pair_is_two_model_folders():
    assert folder_pair("runs/a=1,runs/b") == ("runs/a=1", "runs/b")
    for bad in ("runs/a", ",runs/b", "runs/a,", "a,b,c"):
        with pytest.raises(SystemExit, match="--pairs items must be BASE_DIR,OTHER_DIR"):
            folder_pair(bad)
