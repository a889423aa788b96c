"""The spatial world model's reward and done follow the game's structure for any weights: the
reward depends on the actions played on a cell, not on which co-player plays which, and done
depends only on the predicted next grid."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.wm_actor import build_world_model
from envs.stag_hunt import StagHuntCore
from helpers import make_args


def _model_and_obs(seed: int):
    torch.manual_seed(seed)
    args = make_args("hop_plus_wm", env_args__layout=["1..", ".23", "S4H"], env_args__n_agents=4,
                     env_args__grid_size=3)
    core = StagHuntCore(1, **args.env_args)
    core.reset([0])
    core.step(np.array([[3, 4, 2, 4]]))              # agent 2 steps onto agent 1's cell: two co-players share it
    obs = torch.from_numpy(core.observations(np.array([0]), np.array([0])))
    model = build_world_model(args)
    return model, model.encode(obs)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), own=st.integers(0, 6), first=st.integers(0, 6), second=st.integers(0, 6),
       last=st.integers(0, 6))
def test_reward_ignores_which_co_player_on_a_cell_plays_which_action(seed, own, first, second, last):
    """Agents 1 and 2 (ego-first slots 1 and 2 for agent 0) stand on one cell; swapping their
    actions leaves the reward unchanged, whatever the weights."""
    model, latent = _model_and_obs(seed)
    joint = torch.tensor([[own, first, second, last], [own, second, first, last]])
    with torch.no_grad():
        _, reward, _ = model.step(latent.expand(2, -1, -1, -1), joint)
    assert torch.allclose(reward[0], reward[1], atol=1e-5)


def test_done_is_a_function_of_the_predicted_next_grid():
    """Two joint actions whose predicted next grids have the same channel totals get the same
    done logit: done reads nothing else."""
    model, latent = _model_and_obs(0)
    following = torch.randn(2, *latent.shape[1:])
    following[1] = following[0].flip(-1)             # same totals per channel, different layout
    assert torch.allclose(model._done(following[:1]), model._done(following[1:]), atol=1e-5)
