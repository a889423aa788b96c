"""The spatial world model's reward and done follow the game's structure for any weights: the
reward depends on the actions played on a cell, not on which co-player plays which, and done
depends only on the predicted next grid."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.wm_actor import build_world_model
from envs.grid_core import STAY
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


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), actions=st.lists(st.integers(0, 4), min_size=4, max_size=4))
def test_a_gated_reward_is_zero_unless_an_interaction_is_played(seed, actions):
    """With ``wm_reward_gate`` a step where every agent moves or stays pays exactly nothing, whatever
    the weights (both games reward only captures and removals); the ungated rules are free to."""
    model, latent = _model_and_obs(seed)
    gated = build_world_model(make_args("hop_plus_wm", env_args__layout=["1..", ".23", "S4H"], env_args__n_agents=4,
                                        env_args__grid_size=3, wm_reward_gate=True))
    gated.load_state_dict(model.state_dict())
    with torch.no_grad():
        _, reward, _ = gated.step(latent, torch.tensor([actions]))
        _, ungated, _ = model.step(latent, torch.tensor([actions]))
        _, hunting, _ = gated.step(latent, torch.tensor([[5, *actions[1:]]]))
    assert float(reward[0]) == 0.0 and float(ungated[0]) != 0.0
    assert float(hunting[0]) != 0.0                    # an interaction passes the gate


def test_done_is_a_function_of_the_predicted_next_grid():
    """Two joint actions whose predicted next grids have the same channel totals get the same
    done logit: done reads nothing else."""
    model, latent = _model_and_obs(0)
    following = torch.randn(2, *latent.shape[1:])
    following[1] = following[0].flip(-1)             # same totals per channel, different layout
    assert torch.allclose(model._done(following[:1]), model._done(following[1:]), atol=1e-5)


def _action_planes(model, grid: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
    """The plain form the model looks up: ``[M,N*A,H,W]``, agent k's own-cell plane times one-hot(a_k)."""
    onehot = torch.nn.functional.one_hot(joint, model.n_actions).to(grid.dtype)        # [M,N,A]
    return (grid[:, :model.n_agents, None] * onehot[..., None, None]).flatten(1, 2)


def _fusion_model(seed: int, fusion: str):
    torch.manual_seed(seed)
    args = make_args("hop_plus_wm", env_args__layout=["1..", ".23", "S4H"], env_args__n_agents=4,
                     env_args__grid_size=3, wm_spatial_fusion=fusion)
    return build_world_model(args)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(1, 6), density=st.floats(0.0, 0.6),
       fusion=st.sampled_from(["stem", "late"]))
def test_the_looked_up_action_planes_are_their_convolution(seed, rows, density, fusion):
    """The action planes' kernels looked up per occupied agent cell equal their convolution (with the
    grid's, the stem's whole pre-activation under ``stem`` fusion) for any weights and any 0/1 grid:
    agents absent, on one cell, or (as a learned model can predict) on several."""
    model = _fusion_model(seed, fusion)
    generator = torch.Generator().manual_seed(seed)
    grid = (torch.rand(rows, *model.obs_shape, generator=generator) < density).float()
    joint = torch.randint(0, model.n_actions, (rows, model.n_agents), generator=generator)
    planes = _action_planes(model, grid, joint)
    if fusion == "stem":
        looked_up = model.state_features(grid) + model._looked_up_actions(grid, joint)
        convolved, params = model.stem(torch.cat([grid, planes], dim=1)), (model.stem.weight, model.stem.bias)
    else:
        looked_up, convolved = model._looked_up_actions(grid, joint), model.action_conv(planes)
        params = (model.action_conv.weight,)
        assert torch.allclose(model._looked_up_actions(grid, joint, channels_last=True),
                              convolved.permute(0, 2, 3, 1), atol=1e-5)
    assert torch.allclose(looked_up, convolved, atol=1e-5)
    gradients = [torch.autograd.grad(out.square().sum(), params) for out in (looked_up, convolved)]  # trains the same
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-4) for a, b in zip(*gradients))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), states=st.integers(1, 4), branches=st.integers(1, 60),
       density=st.floats(0.0, 0.6))
def test_late_fusion_steps_each_distinct_cell_once_and_is_the_same_function(seed, states, branches, density):
    """A planner's branches of one state (``feature_rows``) run late fusion's per-cell layers once per
    distinct (state, cell, actions of the agents around the cell); next logits, reward and done equal
    the step of every branch on its own, for any weights and 0/1 grids (agents absent, or predicted
    on several cells)."""
    model = _fusion_model(seed, "late")
    generator = torch.Generator().manual_seed(seed)
    latent = 8 * (2 * (torch.rand(states, *model.obs_shape, generator=generator) < density).float() - 1)
    rows = torch.randint(0, states, (branches,), generator=generator)
    joint = torch.randint(0, model.n_actions, (branches, model.n_agents), generator=generator)
    with torch.no_grad():
        features = model.state_features(latent)
        shared = model.step(latent[rows], joint, features, rows)
        alone = model.step(latent[rows], joint, features[rows])
        fresh = model.step(latent[rows], joint)
    for a, b, c in zip(shared, alone, fresh):
        assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, c, atol=1e-4)


def test_the_planning_table_follows_every_change_of_the_kernels():
    """Without gradients the action table is kept between steps, in each layout a step reads; after
    an optimiser step, or a load of other weights, the looked-up planes are again exactly their
    convolution, and a planner's step of branches sharing a state (late fusion's per-state kernels)
    is again the step computed with gradients, where nothing is kept."""
    model = _fusion_model(3, "late")
    generator = torch.Generator().manual_seed(3)
    grid = (torch.rand(4, *model.obs_shape, generator=generator) < 0.4).float()
    joint = torch.randint(0, model.n_actions, (4, model.n_agents), generator=generator)
    planes = _action_planes(model, grid, joint)
    latent, rows = 8 * (2 * grid[:2] - 1), torch.tensor([0, 1, 0, 1])

    def planned_and_convolved():
        with torch.no_grad():
            shared = model.step(latent[rows], joint, model.state_features(latent), rows)[0]
        assert torch.allclose(shared, model.step(latent[rows], joint)[0].detach(), atol=1e-4)
        with torch.no_grad():
            return model._looked_up_actions(grid, joint), model.action_conv(planes)

    before, convolved = planned_and_convolved()
    assert torch.allclose(before, convolved, atol=1e-5)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    model.action_conv(planes).square().sum().backward()
    optimiser.step()
    after, convolved = planned_and_convolved()
    assert not torch.allclose(before, after, atol=1e-3) and torch.allclose(after, convolved, atol=1e-5)
    model.load_state_dict(_fusion_model(4, "late").state_dict())
    loaded, convolved = planned_and_convolved()
    assert not torch.allclose(after, loaded, atol=1e-3) and torch.allclose(loaded, convolved, atol=1e-5)


def test_late_fusion_runs_the_3x3_layers_on_the_grid_alone():
    """Under ``late`` fusion the joint action changes only what comes after the state features: two
    joint actions from one grid share them, and the 3x3 blocks never see an action."""
    model = _fusion_model(0, "late")
    _, latent = _model_and_obs(0)
    features = model.state_features(latent)
    for block in model.blocks:
        torch.nn.init.normal_(block.weight)
    assert not torch.allclose(model.state_features(latent), features)        # the blocks are in the shared part
    joint = torch.tensor([[0, 1, 2, 3], [4, 3, 2, 1]])
    with torch.no_grad():
        shared = model.step(latent.expand(2, -1, -1, -1), joint, model.state_features(latent).expand(2, -1, -1, -1))
        alone = model.step(latent.expand(2, -1, -1, -1), joint)
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-4) for a, b in zip(shared, alone))
    assert not torch.allclose(shared[0][0], shared[0][1])                     # and the actions still matter


def _plain_value(model, latent: torch.Tensor) -> torch.Tensor:
    """V in its plain form: the 3x3 layer on the grid, ReLU, then the features at the agent's own
    cells (summed), their mean and max over the grid, and the head."""
    grid = (latent > 0).float()
    trunk = torch.relu(model.value_trunk[0](grid))                                    # [M,F,H,W]
    pooled = torch.cat([(trunk * grid[:, :1]).sum((2, 3)), trunk.mean((2, 3)), trunk.amax((2, 3))], dim=-1)
    return model.value_head(pooled)[..., 0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(1, 6), density=st.floats(0.0, 0.6),
       fusion=st.sampled_from(["stem", "late"]))
def test_the_value_is_its_plain_form(seed, rows, density, fusion):
    """V read from channels-last cells equals the plain feature-map form, gradients included, for any
    weights and 0/1 grids: the agent absent, on one cell or (as a learned model can predict) on several."""
    model = _fusion_model(seed, fusion)
    generator = torch.Generator().manual_seed(seed)
    latent = 8 * (2 * (torch.rand(rows, *model.obs_shape, generator=generator) < density).float() - 1)
    values = model.value(latent), _plain_value(model, latent)
    assert torch.allclose(*values, atol=1e-5)
    params = list(model.value_trunk.parameters()) + list(model.value_head.parameters())
    gradients = [torch.autograd.grad(value.square().sum(), params) for value in values]
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(*gradients))


@settings(max_examples=50, deadline=None)
@given(keys=st.lists(st.integers(0, 40), max_size=60), dense=st.booleans())
def test_distinct_keys_partition_the_keys(keys, dense):
    """Marked in an array or sorted, ``_distinct`` gives every key the index of its distinct value
    (in increasing order) and one position holding each."""
    from modules.world_model.spatial import _distinct
    keys = torch.tensor(keys, dtype=torch.long)
    inverse, first = _distinct(keys, 41 if dense else None)
    distinct = sorted(set(keys.tolist()))
    assert len(first) == len(distinct) and keys[first].tolist() == distinct
    assert torch.equal(keys[first][inverse], keys)


def _plain_reward(model, grid: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
    """The reward in its plain form: both rules applied to every row's inputs."""
    n, n_actions = model.n_agents, model.n_actions
    cells = grid.flatten(2)
    present, where = cells[:, :n].amax(-1), cells[:, :n].argmax(-1)                  # [M,N]
    on_cell = cells.gather(2, where[:, None].expand(-1, cells.shape[1], -1))           # [M,C,N]
    actions = torch.nn.functional.one_hot(joint, n_actions).float()                    # [M,N,A]
    per_action = torch.einsum("mja,mjk->mak", actions, on_cell[:, :n])                 # [M,A,N]
    sharers = (per_action[..., 0] * actions[:, 0]).sum(1).clamp(min=1.0)
    pot = model.reward_pot(torch.cat([on_cell[..., 0], actions[:, 0], sharers[:, None]], dim=1))[:, 0]
    played = per_action.clamp(max=1.0)
    anywhere = model.reward_anywhere(torch.cat([on_cell, played], dim=1).transpose(1, 2))[..., 0]   # [M,N]
    if model.reward_gate:
        pot = pot * (joint[:, 0] > STAY).float()
        anywhere = anywhere * played[:, STAY + 1:].amax(1)
    return pot * present[:, 0] / sharers + (anywhere * present / per_action.sum(1).clamp(min=1.0)).sum(1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), states=st.integers(1, 4), branches=st.integers(1, 60),
       density=st.floats(0.0, 0.6), fusion=st.sampled_from(["stem", "late"]), gate=st.booleans())
def test_the_reward_is_its_plain_form(seed, states, branches, density, fusion, gate):
    """The reward rules run once per distinct input (and, for a planner's branches, what the grid
    decides once per state), yet every row gets the plain rules' reward, gradients included, for any
    weights and 0/1 grids: agents absent, sharing cells, or predicted on several."""
    torch.manual_seed(seed)
    model = build_world_model(make_args("hop_plus_wm", env_args__layout=["1..", ".23", "S4H"], env_args__n_agents=4,
                                        env_args__grid_size=3, wm_spatial_fusion=fusion, wm_reward_gate=gate))
    generator = torch.Generator().manual_seed(seed)
    latent = 8 * (2 * (torch.rand(states, *model.obs_shape, generator=generator) < density).float() - 1)
    rows = torch.randint(0, states, (branches,), generator=generator)
    joint = torch.randint(0, model.n_actions, (branches, model.n_agents), generator=generator)
    plain = _plain_reward(model, (latent[rows] > 0).float(), joint)
    _, trained, _ = model.step(latent[rows], joint)
    with torch.no_grad():
        _, planned, _ = model.step(latent[rows], joint, model.state_features(latent), rows)
    assert torch.allclose(trained, plain, atol=1e-5) and torch.allclose(planned, plain, atol=1e-5)
    params = list(model.reward_pot.parameters()) + list(model.reward_anywhere.parameters())
    gradients = [torch.autograd.grad(reward.square().sum(), params, allow_unused=True) for reward in (trained, plain)]
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(*gradients) if a is not None or b is not None)


def test_a_grid_too_wide_for_the_reward_keys_is_refused():
    """The reward rules' inputs are packed into int64 keys; a grid whose channels and actions need more
    bits than fit is refused when the model is built, naming the counts, instead of colliding keys."""
    from modules.world_model.spatial import SpatialWorldModel
    config = {"obs_shape": [60, 4, 4], "n_agents": 4, "n_actions": 7, "spatial_channels": 8, "hidden_dim": 8,
              "spatial_blocks": 1, "fusion": "stem", "reward_gate": False}
    with pytest.raises(ValueError, match="60 channels, 7 actions, 4 agents"):
        SpatialWorldModel(config)
    SpatialWorldModel({**config, "obs_shape": [50, 4, 4]})           # 50 + 7 + 3 bits fit


def test_late_fusion_refuses_more_agents_than_its_action_codes_hold():
    """Late fusion codes the actions around a cell as base-A digits summed in float64: a model whose
    A^N codes exceed float64's exact integers is refused when built, not stepped with colliding codes."""
    from modules.world_model.spatial import SpatialWorldModel
    config = {"obs_shape": [22, 4, 4], "n_agents": 19, "n_actions": 7, "spatial_channels": 8, "hidden_dim": 8,
              "spatial_blocks": 1, "fusion": "late", "reward_gate": False}
    with pytest.raises(ValueError, match="7\\^19 exceeds 2\\^53"):
        SpatialWorldModel(config)
    SpatialWorldModel({**config, "fusion": "stem"})
    SpatialWorldModel({**config, "n_agents": 18, "obs_shape": [21, 4, 4]})          # 7^18 < 2^53


def test_late_fusion_with_keys_too_wide_for_int64_is_the_same_function():
    """13 agents of 16 actions on 4x4 cells: (state, cell, nearby actions) packed as one integer would
    need (states * 16) * 2^52 keys, past int64 from 256 states on (where state s + 256 would wrap onto
    state s), so the distinct cells are found as pairs instead; the step is still every branch's own."""
    from modules.world_model.spatial import SpatialWorldModel
    torch.manual_seed(0)
    model = SpatialWorldModel({"obs_shape": [16, 4, 4], "n_agents": 13, "n_actions": 16, "spatial_channels": 8,
                               "hidden_dim": 8, "spatial_blocks": 1, "fusion": "late", "reward_gate": False})
    generator = torch.Generator().manual_seed(0)
    states = 300
    grid = torch.rand(states, *model.obs_shape, generator=generator) < 0.3
    grid[:, :13] &= torch.rand(states, 13, 4, 4, generator=generator) < 0.02          # few agents: many cells
    latent = 8 * (2 * grid.float() - 1)                                                # see none (code 0)
    rows = torch.arange(states).repeat(2)
    joint = torch.randint(0, model.n_actions, (2 * states, model.n_agents), generator=generator)
    with torch.no_grad():
        features = model.state_features(latent)
        shared = model.step(latent[rows], joint, features, rows)
        alone = model.step(latent[rows], joint, features[rows])
    for a, b in zip(shared, alone):
        assert torch.allclose(a, b, atol=1e-5)
