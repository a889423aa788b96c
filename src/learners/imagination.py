"""Imagined episodes for hop_plus_mbrl (docs/methods.md: World-model planning): the world model rolled out from real start states.

An imagined episode starts at a step t0 where an agent of the learned role acts in a real episode
of the batch, with t0 + ``imagine_horizon`` <= episode limit, and runs ``imagine_horizon`` steps
unless the model's done head ends it first. Imagined episodes get their own batch, whose length
is ``imagine_horizon`` + 1: the masks' convention (an episode that ends before the batch's last
index terminated) then holds for them as for real episodes, and the horizon is a time-limit cut.
Each is an ``EpisodeBatch`` row with the real batch's scheme, written like the runner writes real
ones, so that ``components.masks`` and PPO read it unchanged:

- the focal agent keeps its real slot (its ``role`` is the learned role's index; every other slot
  gets role -1, so learners never select it); ``obs`` is written for the focal slot only (zeros
  elsewhere, as is the global ``state``, which the world model does not predict);
- at every step: the focal agent's action from the current policy, the co-players' actions
  sampled from MOA, the reward r̂ and done from the model; done (P > 0.5) marks ``terminated``
  and ends the episode (the agent left or the episode ended: either way its participation ends);
  reaching the horizon is a time-limit cut (not terminal: PPO bootstraps from the final value);
- the next observation is the decoded one, binarised at probability 0.5, and re-encoded for the
  next step (the policy and the model see the same 0/1 grid); ``avail_actions`` of every agent is
  the game's own rule on it (``modules.world_model.grid_rules``; the first step uses the real
  availability); a co-player is alive while it is drawn in the observation (and was alive before);
- the policy's extra inputs (OMG_AM subgoals inferred on the imagined observations, MOA's
  probabilities) are computed exactly as the HOP+ actor computes them, the OMG_AM history
  continuing from the real history up to the start step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from munch import Munch

from components.action_selectors import REGISTRY as SELECTORS
from components.action_selectors import masked_logits
from components.episode_buffer import EpisodeBatch
from controllers.subgoal_inputs import compose_extra
from envs.grid_core import STAY
from learners.focal_sequences import focal_sequences
from modules.opponent_models.ego import ego_slots
from modules.opponent_models.gaussian import reparameterise
from modules.world_model.grid_rules import GridRules, all_avail_from_obs
from utils.draws import categorical


@dataclass
class ImaginationModels:
    """What imagination runs: the world model, the learned role's policy, MOA, OMG_AM (or None)."""

    world_model: torch.nn.Module
    policy: torch.nn.Module
    moa: torch.nn.Module
    omg: torch.nn.Module | None
    inputs: list[str]       # the policy's active extra inputs (controllers.subgoal_inputs)
    rules: GridRules


def to_global(values: torch.Tensor, ego: torch.Tensor) -> torch.Tensor:
    """Ego-first per-agent values ``[R,N,...]`` -> global slot order (``ego [R,N]`` from ``ego_slots``)."""
    out = torch.zeros_like(values)
    out[torch.arange(len(ego), device=ego.device)[:, None], ego] = values
    return out


def at_slot(values: torch.Tensor, slot: torch.Tensor, n_agents: int) -> torch.Tensor:
    """Per-row values ``[R,...]`` placed at global ``slot [R]`` of an ``[R,N,...]`` zero tensor."""
    out = values.new_zeros((len(values), n_agents, *values.shape[1:]))
    out[torch.arange(len(values), device=values.device), slot] = values
    return out


@dataclass
class Imagined:
    """Imagined episodes, where each started (real episode ``env``, step ``start``) and rollout stats."""

    batch: EpisodeBatch
    env: torch.Tensor
    start: torch.Tensor
    stats: dict[str, float]


class Imagination:
    """``run(real, role_index, n_episodes, generator) -> Imagined | None``; see the module doc."""

    def __init__(self, models: ImaginationModels, args: Munch) -> None:
        self.models, self.args = models, args

    def run(self, real: EpisodeBatch, role_index: int, n_episodes: int,
            generator: torch.Generator) -> Imagined | None:
        args, m = self.args, self.models
        seq = focal_sequences(real, role_index)
        horizon = args.imagine_horizon
        if seq is None or n_episodes == 0:
            return None
        steps = torch.arange(seq.steps - 1, device=seq.focal_mask.device)
        starts = (seq.focal_mask > 0) & (steps[None] + horizon <= args.episode_limit)
        if not bool(starts.any()):
            return None
        p_all, t_all = torch.nonzero(starts, as_tuple=True)
        pick = torch.randint(len(p_all), (n_episodes,), generator=generator).to(p_all.device)
        p, t0 = p_all[pick], t_all[pick]
        env, slot = seq.env[p], seq.slot[p]
        n_agents = args.n_agents
        ego = ego_slots(slot, n_agents)
        out = EpisodeBatch(real.scheme, real.groups, n_episodes, horizon + 1, preprocess=real.preprocess,
                           device=real.device)
        role = torch.full((n_episodes, n_agents), -1, dtype=torch.long, device=slot.device)
        role[torch.arange(n_episodes, device=slot.device), slot] = role_index
        out.update({"role": role})
        with torch.no_grad():
            obs, time = seq.obs[p, t0], seq.time[p, t0]
            prev = seq.prev_actions[p, t0]                                                # [R,N,A] one-hot
            avail = real["avail_actions"][env[:, None], t0[:, None], ego]                 # ego-first
            alive = real["alive"][env[:, None], t0[:, None], ego, 0] > 0
            x = cond = None
            if m.omg is not None:
                x_seq = m.omg.encode(seq.obs[p].flatten(0, 1)).view(n_episodes, seq.steps, -1)
                cond_all = m.omg.unroll(x_seq, seq.prev_actions[p])
                rows = torch.arange(n_episodes, device=p.device)
                x, cond = x_seq[rows, t0], cond_all[rows, t0]
            stats = self._rollout(out, obs, time, prev, avail, alive, x, cond, slot, ego, generator)
        stats["mbrl_imagined_episodes"] = float(n_episodes)
        stats["mbrl_imagined_length_mean"] = float(out["filled"][:, :, 0].sum(1).float().mean() - 1)
        return Imagined(out, env, t0, stats)

    def _rollout(self, out, obs, time, prev, avail, alive, x, cond, slot, ego, generator) -> dict[str, float]:
        """Write the imagined steps into ``out``: at step h every row still running gets its observation
        fields; rows that neither ended nor reached the horizon also act and step the model."""
        args, m = self.args, self.models
        n, n_agents = len(obs), args.n_agents
        running = torch.ones(n, dtype=torch.bool, device=obs.device)
        ended = torch.zeros(n, dtype=torch.bool, device=obs.device)
        rewards, dones = [], []
        horizon = args.imagine_horizon
        for h in range(horizon + 1):
            extras, moa_probs = self._condition(obs, time, prev, avail, x, cond, generator)
            pre = {"obs": at_slot(obs, slot, n_agents), "time": time, "avail_actions": to_global(avail, ego),
                   "alive": to_global(alive.to(torch.uint8)[..., None], ego),
                   **{k: at_slot(v, slot, n_agents) for k, v in extras.items() if k in out}}
            rows = torch.nonzero(running, as_tuple=True)[0]
            out.update({k: v[rows] for k, v in pre.items()}, bs=rows, ts=h)
            running = running & ~ended & (h < horizon)         # rows that act at h (the others just ended)
            if not running.any():
                break
            focal = self._focal_actions(obs, time, slot, extras.get("policy_extra"), avail[:, 0], generator)
            co = categorical(moa_probs.flatten(0, 1), generator).view(n, n_agents - 1)
            joint = torch.cat([focal[:, None], co], dim=-1)
            following, reward, done_logit = m.world_model.step(m.world_model.encode(obs), joint)
            done = torch.sigmoid(done_logit) > 0.5
            rows = torch.nonzero(running, as_tuple=True)[0]
            post = {"actions": to_global(joint[..., None], ego), "reward": at_slot(reward[:, None], slot, n_agents),
                    "terminated": done[:, None].to(torch.uint8)}
            out.update({k: v[rows] for k, v in post.items()}, bs=rows, ts=h, mark_filled=False)
            rewards.append(reward[running])
            dones.append(done[running])
            ended = ended | done
            prev = F.one_hot(joint, args.n_actions).float()
            obs, time = (m.world_model.decode(following) > 0).float(), time + 1.0 / args.episode_limit
            if m.omg is not None:
                cond, x = m.omg.step(cond, x, prev), m.omg.encode(obs)
            alive = alive & (obs[:, :n_agents].flatten(2).amax(-1) > 0.5)
            alive[:, 0] = ~done
            avail = all_avail_from_obs(obs, m.rules)
            stay = F.one_hot(torch.tensor(STAY, device=avail.device), args.n_actions).bool()
            avail[~alive] = stay                                  # left: only STAY, as in the env
        return {"mbrl_imagined_reward_mean": float(torch.cat(rewards).mean()),
                "mbrl_imagined_done_frac": float(torch.cat(dones).float().mean())}

    def _condition(self, obs, time, prev, avail, x, cond, generator):
        """The policy's extra inputs at the current imagined step, as ``SubgoalActor`` computes them."""
        m = self.models
        extras, parts = {}, {}
        subgoal = None
        if m.omg is not None:
            mu, log_var = m.omg.posterior(x, cond)
            subgoal = reparameterise(mu, log_var, generator)
            extras.update(subgoal=subgoal, infer_mu=mu, infer_log_var=log_var)
            parts["subgoal"] = subgoal
        logits = m.moa(obs, time, prev, subgoal if m.moa.subgoal_dim else None)
        moa_probs = torch.softmax(masked_logits(logits, avail[:, 1:]), dim=-1)
        if "moa" in m.inputs:
            parts["moa"] = extras["moa_probs"] = moa_probs
        extra = compose_extra(parts, m.inputs)
        if extra is not None:
            extras["policy_extra"] = extra
        return extras, moa_probs

    def _focal_actions(self, obs, time, slot, extra, avail, generator) -> torch.Tensor:
        logits, _ = self.models.policy(obs, time, slot, extra)
        return SELECTORS["multinomial"](logits, avail, generator)
