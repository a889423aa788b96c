"""``benchmarks.bench_train --trained``: which entry of ``--algs`` each checkpoint folder starts."""
from benchmarks.bench_train import trained_dirs


def test_trained_folders_are_matched_to_entries_with_their_own_overrides():
    algs = ["hop_plus", "hop_plus_wm", "hop_plus_wm+wm_spatial_fusion=late"]
    items = ["hop_plus=a/b", "hop_plus_wm+wm_spatial_fusion=late=c=d", "hop_plus_wm=e"]
    assert trained_dirs(items, algs) == {"hop_plus": "a/b", "hop_plus_wm+wm_spatial_fusion=late": "c=d",
                                         "hop_plus_wm": "e"}


def test_an_unknown_or_repeated_entry_is_refused():
    assert trained_dirs(["ppo=x"], ["hop_plus"]) is None
    assert trained_dirs(["hop_plus"], ["hop_plus"]) is None
    assert trained_dirs(["hop_plus=x", "hop_plus=y"], ["hop_plus"]) is None
