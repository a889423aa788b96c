"""``benchmarks.bench_train_over_run``: its arguments and the whole run's figure."""
import pytest

from benchmarks.bench_train_over_run import alg_and_folder, seconds_per_step_ratio


def test_a_run_costs_the_summed_seconds_per_step_not_the_mean_ratio():
    # 100 and 50 steps/s against 100 and 100: 0.03 s against 0.02 s per pair of steps
    assert seconds_per_step_ratio([100.0, 100.0], [100.0, 50.0]) == pytest.approx(1.5)
    # the mean of the per-checkpoint ratios (1 and 4) would say 2.5; the run spends 1.6x
    assert seconds_per_step_ratio([100.0, 400.0], [100.0, 100.0]) == pytest.approx(0.02 / 0.0125)


def test_alg_and_folder_refuses_an_item_without_a_folder():
    assert alg_and_folder("hop_plus=a/b=c", "--base") == ("hop_plus", "a/b=c")
    for bad in ("hop_plus", "=a", "hop_plus="):
        with pytest.raises(SystemExit, match="--base must be ALG=DIR"):
            alg_and_folder(bad, "--base")
