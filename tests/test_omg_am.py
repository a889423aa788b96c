"""OMG_AM: selector, Gaussian maths, VAE prior training, posterior learning from the current episodes."""
import pytest
import torch

from controllers.role_controller import RoleController
from helpers import make_args, make_experiment
from learners.focal_sequences import focal_sequences
from learners.vae_loss import kl_weight, vae_loss
from modules.opponent_models import StateVAE
from modules.opponent_models.configs import vae_config
from modules.opponent_models.gaussian import kl_divergence
from modules.opponent_models.selector import select_subgoal
from runners.parallel_runner import ParallelRunner

SMALL = dict(batch_size_run=8, buffer_size=8, batch_size=8, ppo_epochs=1, ppo_minibatches=1,
             env_args__episode_limit=10, subgoal_dim=4, roles=["hop_plus", "NS", "NH", "NS"])


def rule_based_batch(args):
    runner = ParallelRunner(args)
    scheme, groups, preprocess = runner.base_scheme(args)
    runner.setup(scheme, groups, preprocess, RoleController(args))
    return runner.run()[0]


def test_selector_picks_argmax_or_argmin_among_valid_candidates():
    values = torch.tensor([[1.0, 5.0, 3.0], [2.0, -1.0, 9.0], [4.0, 0.0, 0.0]])
    valid = torch.tensor([[True, True, True], [True, True, False], [True, False, False]])
    assert select_subgoal(values, valid, "optimistic").tolist() == [1, 0, 0]
    assert select_subgoal(values, valid, "conservative").tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="at least one valid"):
        select_subgoal(values, torch.zeros_like(valid), "optimistic")
    with pytest.raises(ValueError, match="unknown selector"):
        select_subgoal(values, valid, "greedy")


def test_kl_divergence_of_gaussians():
    mu, log_var = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.3]])
    assert kl_divergence(mu, log_var, mu, log_var).item() == pytest.approx(0.0, abs=1e-6)
    manual = 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum()
    assert kl_divergence(mu, log_var).item() == pytest.approx(manual.item())
    assert kl_weight(0.1, 10, 5) == pytest.approx(0.05) and kl_weight(0.1, 0, 0) == 0.1


@pytest.mark.parametrize("recon", ["bce", "mse"])
def test_vae_reconstruction_loss_decreases(recon):
    torch.manual_seed(0)
    args = make_args("hop_plus", subgoal_dim=4, vae_moa_head=True)
    vae = StateVAE(vae_config(args))
    batch = rule_based_batch(make_args("collect", batch_size_run=8, buffer_size=8, env_args__episode_limit=10))
    acting = batch["alive"][:, :-1, :, 0] > 0
    obs, actions = batch["obs"][:, :-1][acting], batch["actions"][:, :-1, :, 0][acting]
    opt = torch.optim.Adam(vae.parameters(), lr=5e-3)
    losses = []
    for _ in range(30):
        loss, stats = vae_loss(vae, obs, recon, 0.1, actions)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(stats["vae_recon"])
    assert losses[-1] < 0.5 * losses[0]
    assert "vae_moa_ce" in stats


def test_omg_am_and_online_vae_train_from_the_buffer():
    exp = make_experiment("hop_plus", learners=["vae", "moa", "omg_am", "policy"], omg_epochs=3, **SMALL)
    for _ in range(3):
        exp.train_step()
    stats = exp.learner_stats
    for key in ("vae_loss", "omg_loss", "omg_recon", "omg_kl", "omg_selected_offset", "moa_top1", "ppo_policy_loss"):
        assert key in stats and all(torch.isfinite(torch.tensor(stats[key]))), key
    assert 1.0 <= min(stats["omg_selected_offset"]) and max(stats["omg_selected_offset"]) <= exp.args.omg_horizon
    assert stats["omg_loss"][-1] < stats["omg_loss"][0]


def test_conservative_selector_chooses_lower_values_than_optimistic():
    picked = {}
    for mode in ("optimistic", "conservative"):
        exp = make_experiment("hop_plus", selector=mode, **SMALL)
        batch, _ = exp.runner.run()
        exp.buffer.insert_episode_batch(batch)
        learner = exp.learners[1]
        seq = focal_sequences(batch, exp.mac.role_index["hop_plus"])
        p, t, k = torch.nonzero(seq.coplayer_mask, as_tuple=True)
        mu, _, offset = learner.targets(batch, seq, p, t, k)
        picked[mode] = offset
        assert mu.shape == (len(p), 4)
    assert not torch.equal(picked["optimistic"], picked["conservative"])


def test_fused_unroll_equals_stepping_the_history():
    from modules.opponent_models import OMGPosterior
    from modules.opponent_models.configs import omg_config
    torch.manual_seed(0)
    args = make_args("hop_plus", subgoal_dim=4)
    omg = OMGPosterior(omg_config(args))
    x = torch.randn(5, 7, omg.hidden_dim)
    prev_actions = torch.randn(5, 7, args.n_agents, args.n_actions)
    h = prev_x = torch.zeros(5, omg.hidden_dim)
    stepped = []
    for t in range(7):
        h = omg.step(h, prev_x, prev_actions[:, t])
        stepped.append(h)
        prev_x = x[:, t]
    assert torch.allclose(omg.unroll(x, prev_actions), torch.stack(stepped, dim=1), atol=1e-6)
