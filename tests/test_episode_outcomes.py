"""Payoff profiles and whole rule episodes on a hand-made layout whose outcome is known."""
import numpy as np
import pytest

from envs.rule_based import play_rules
from envs.stag_hunt import StagHuntCore
from runners.episode_stats import payoff_profiles
from scripts.episode_outcomes import CheckpointEpisodes, markdown, versus_rule

# agents 1 and 2 are one step from the stag, agents 3 and 4 one step from a hare each
LAYOUT = ["1S2",
          "H.H",
          "3.4"]


def play(roles, discount=1.0):
    core = StagHuntCore(2, n_agents=4, layout=LAYOUT, episode_limit=10)
    return play_rules(core, np.arange(2), roles, discount)


def test_two_stag_hunters_and_two_hare_hunters_reach_the_welfare_maximum():
    assert play(["NS", "NS", "NH", "NH"]).tolist() == [[5.0, 5.0, 1.0, 1.0]] * 2


def test_a_late_stag_hunter_gets_nothing_once_the_stag_is_taken():
    # the stag falls at step 2 to agents 1 and 2; agents 3 and 4 are three steps away and never take a hare
    assert play(["NS", "NS", "NS", "NS"]).tolist() == [[5.0, 5.0, 0.0, 0.0]] * 2


def test_returns_are_discounted_from_the_first_step():
    # stag at step 2 (move, then STAG): 0.9 * 5; hare likewise: 0.9 * 1
    assert np.allclose(play(["NS", "NS", "NH", "NH"], discount=0.9), [[4.5, 4.5, 0.9, 0.9]] * 2)


def test_one_role_per_agent_is_required():
    with pytest.raises(ValueError, match="3 roles for 4 agents"):
        play(["NS", "NS", "NH"])


def test_payoff_profiles_sort_each_episode_and_count_the_most_frequent_first():
    returns = np.array([[1, 5, 5, 1], [10 / 3, 1, 10 / 3, 10 / 3], [5, 1, 1, 5], [0.0, -0.0, 0, 0]])
    assert payoff_profiles(returns) == [((5.0, 5.0, 1.0, 1.0), 2), ((3.33, 3.33, 3.33, 1.0), 1),
                                        ((0.0, 0.0, 0.0, 0.0), 1)]


def test_equally_frequent_profiles_list_the_higher_summed_return_first():
    assert [p for p, _ in payoff_profiles(np.array([[1.0, 0.0], [2.0, 2.0]]))] == [(2.0, 2.0), (1.0, 0.0)]


def test_the_table_shows_shares_and_the_mean_summed_return():
    table = markdown(np.array([[5.0, 5.0, 1.0, 1.0]] * 3 + [[10 / 3] * 3 + [1.0]]))
    assert "| 5, 5, 1, 1 | 12.0 | 3 | 0.75 |" in table and "| 3.33, 3.33, 3.33, 1 | 11.0 | 1 | 0.25 |" in table
    assert "mean summed return 11.75" in table


def test_stag_waits_count_the_steps_a_pair_stands_on_a_live_stag():
    from envs.grid_core import MOVE_NAMES, STAY
    from envs.stag_hunt import STAG
    from scripts.episode_outcomes import StagWaits

    class Env:   # what the runner hands to on_step
        core = StagHuntCore(1, n_agents=4, layout=["1S2", "H.H", "3.4"], episode_limit=10)

    left, right = MOVE_NAMES.index("LEFT"), MOVE_NAMES.index("RIGHT")
    Env.core.reset(np.arange(1))
    hook = StagWaits()
    hook(Env, 0)
    for t, pair in enumerate([(right, left), (STAY, STAY), (STAY, STAY), (STAG, STAG)], start=1):
        Env.core.step(np.array([[*pair, STAY, STAY]]))
        hook(Env, t)
    # both reach the stag at step 1, stay two steps (two waits), capture at step 4
    assert hook.waits.tolist() == [2] and not Env.core.prey_alive[0, 0]


def test_a_chosen_slot_is_played_by_its_callback_only_while_it_plays():
    from envs.grid_core import MOVE_NAMES
    from envs.stag_hunt import HARE

    calls = []

    def choose(core, rows):      # agent 3: up onto its hare, then HARE
        calls.append(rows.tolist())
        return np.full(len(rows), MOVE_NAMES.index("UP") if len(calls) == 1 else HARE)

    core = StagHuntCore(2, n_agents=4, layout=LAYOUT, episode_limit=10)
    returns = play_rules(core, np.arange(2), ["NS", "NS", "ignored", "NH"], chosen=(2, choose))
    assert returns.tolist() == [[5.0, 5.0, 1.0, 1.0]] * 2 and calls == [[0, 1], [0, 1]]


def test_versus_rule_replays_the_same_maps_with_the_rule_in_the_agent_s_slot():
    """An "agent" that is the NS rule itself earns exactly what NS earns in its slot on the same
    seeds (same maps, same random streams): difference 0 on every map. A slot outside the run is refused."""
    env_args = dict(grid_size=4, n_walls=0, n_stags=1, n_hares=4, episode_limit=35)
    seeds = np.arange(100, 116)
    core = StagHuntCore(len(seeds), **env_args)
    returns = play_rules(core, seeds, ["NS"] * 4)
    episodes = CheckpointEpisodes(returns, seeds, ["NS"] * 4, core, None)
    assert "difference +0.000 ± 0.000 (standard error, 16 maps; agent below the rule on 0%, above on 0%)" \
        in versus_rule(episodes, "NS", 0)
    nh = play_rules(StagHuntCore(len(seeds), **env_args), seeds, ["NH", "NS", "NS", "NS"])[:, 0]
    assert f"NH on the same maps {nh.mean():.3f}" in versus_rule(episodes, "NH", 0)
    with pytest.raises(ValueError, match="--focal-slot 4"):
        versus_rule(episodes, "NS", 4)
    with pytest.raises(ValueError, match="unknown rule-based role 'XX'"):
        versus_rule(episodes, "XX", 0)
    selfplay = CheckpointEpisodes(returns, seeds, ["hop"] * 4, core, None)
    with pytest.raises(ValueError, match="slot 1 is 'hop', not a rule"):
        versus_rule(selfplay, "NS", 0)


def test_a_checkpoint_that_is_missing_or_does_not_fit_the_run_is_one_line_and_exit_2(tmp_path):
    """A missing checkpoint root, or a checkpoint of a run built with other world-model settings than
    the --config / --set given, is one error line naming the problem and exit code 2, not a traceback."""
    import os
    import subprocess
    import sys
    from controllers.wm_actor import WMPlannerActor
    from helpers import make_args
    from utils.checkpoint import save_checkpoint

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    save_checkpoint(str(tmp_path / "run" / "100"), WMPlannerActor(
        make_args("hop_plus_wm", wm_spatial_fusion="late")).modules(), {}, {"t_env": 100})
    for checkpoint, message in ((tmp_path / "missing", "not found"), (tmp_path / "run", "wm_spatial_fusion='late'")):
        done = subprocess.run([sys.executable, "-m", "scripts.episode_outcomes", "--config", "hop_plus_wm",
                               "--checkpoint", str(checkpoint), "--episodes", "4"],
                              cwd=root, capture_output=True, text=True, timeout=120)
        errors = [line for line in done.stderr.splitlines() if line.startswith("episode_outcomes:")]
        assert done.returncode == 2 and len(errors) == 1 and message in errors[0], done.stderr
        assert "Traceback" not in done.stderr
