"""hop_plus_mbrl's policy learner (docs/methods.md: World-model planning): PPO on the latest real episodes plus imagined ones."""
from __future__ import annotations

import torch
from munch import Munch

from controllers.subgoal_inputs import active_policy_inputs
from learners.imagination import Imagination, ImaginationModels
from learners.ppo_learner import PPOLearner
from modules.world_model.grid_rules import grid_rules
from utils.errors import ConfigError



class MBRLPPOLearner(PPOLearner):
    """PPO on the ``batch_size_run`` latest real episodes plus round(batch_size_run × (1 - real_ratio) /
    real_ratio) imagined ones (``learners.imagination``), rolled out with the current policy, MOA and
    the actor's world model (trained by ``world_model``). The two batches have different lengths, so
    PPO's sample rows (GAE included) are built per batch and then shuffled into the same minibatches."""

    name = "mbrl_ppo"
    reads = ("world_model", "moa", "omg")

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        if not 0 < args.real_ratio <= 1:
            raise ConfigError(f"real_ratio must be in (0, 1], got {args.real_ratio}")
        if not 1 <= args.imagine_horizon <= args.episode_limit:
            raise ConfigError(f"imagine_horizon must be in 1..episode_limit ({args.episode_limit}), "
                              f"got {args.imagine_horizon}")
        modules = mac.modules()
        missing = [k for k in ("world_model", "moa") if k not in modules]
        if missing:
            raise ConfigError(f"learner 'mbrl_ppo' needs an actor that owns {missing} (actor: subgoal_wm with moa in "
                              f"learners), got actor '{args.actor}'")
        if not modules["world_model"].decodes:
            raise ConfigError("learner 'mbrl_ppo' imagines observations: it needs wm_decoder: True")
        self.imagination = Imagination(ImaginationModels(
            modules["world_model"], modules["policy"], modules["moa"], modules.get("omg"), active_policy_inputs(args),
            grid_rules(args)), args)
        self.n_imagined = round(args.batch_size_run * (1 - args.real_ratio) / args.real_ratio)
        self.seed_generator()

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        if self.role_index is None:
            return {}
        real = buffer.sample_latest(self.args.batch_size_run)
        imagined = self.imagination.run(real, self.role_index, self.n_imagined, self.generator)
        batches = [b for b in (real, imagined.batch if imagined else None) if b is not None and b.max_t_filled() >= 2]
        parts = [self._focal_samples(b) for b in batches]
        parts = [p for p in parts if p["actions"].shape[0]]
        if not parts:
            return {}
        data = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
        stats = self.train_on(data, t_env, env_steps=sum(int(b["filled"].sum()) for b in batches))
        return {**stats, **(imagined.stats if imagined else {})}
