"""The learned world model's price: the same planner on the learned model and on the true simulator.

    python -m scripts.wm_price results/wm_fit/stag_hunt_small/model.pt --env-config stag_hunt_small
    python -m scripts.wm_price results/models/<run>/200000 --coplayers moa     # a hop_plus_wm checkpoint

For each mixture (``--mixtures``, default NS NH RAND self) ``--episodes`` episodes (seeds
``--seed``.., identical for both models) are played with roles [planner, X, X, X] (``self``: four
planners). The planner is ``hop_plus_wm``'s (run config: ``wm_planner``, ``wm_horizon``,
``wm_coplayer_expectation``, ``wm_samples``, ``gamma``; overridable as KEY=VALUE) and acts greedily.
The model is a fit saved by ``scripts/fit_world_model.py`` (``model.pt``) or the checkpoint folder
of a ``hop_plus_wm`` run (its ``world_model`` and ``moa``), built with the settings the fit or the
folder records (fusion, reward gate, widths; an override that contradicts them is refused). Both variants share the co-player model
and the leaf values: co-players are predicted uniform over their available actions
(``--coplayers uniform``), by the exact rule of the mixture (``--coplayers rules``: uniform over the
actions the rule allows in the true state at the root, the root's prediction kept deeper in
``h_step``; not for ``self``) or by the checkpoint's MOA (``--coplayers moa``: the model the run
plans with), V is the loaded model's value head
on the true observation; only the dynamics, rewards and dones differ: ``learned`` steps the loaded world model
(``planners.wm_models.LatentModel``), ``simulator`` the true game (``SimulatorModel``). Prints one
JSON line per mixture with the planner's mean return per planning agent under each model.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch


def uniform_coplayers(obs, time, prev, avail, root):
    return avail[:, 1:].float() / avail[:, 1:].sum(-1, keepdim=True)


def rule_coplayers(core, env_idx: np.ndarray, coplayer_slots: np.ndarray, role: str):
    """The co-player model of rule ``role``: ``[R,K,A]`` uniform over the actions the rule allows each
    co-player (ego-first order) in the true state of row ``env_idx``, kept for every state of that row."""
    from planners.rule_goals import rule_logits
    logits = torch.from_numpy(rule_logits(core, (role,))[:, :, 0])                    # [B,N,A]
    probs = torch.softmax(logits[env_idx[:, None], coplayer_slots], dim=-1).float()    # [R,K,A]

    def predict(obs, time, prev, avail, root):
        return probs[root]
    return predict


def load_world_model(source: str, env_config: str, overrides: dict):
    """``(args, world model, MOA policy or None)`` from a ``model.pt`` fit or a hop_plus_wm checkpoint folder."""
    from launch import load_config, prepare_args
    if os.path.isdir(source):
        from controllers.wm_actor import WMPlannerActor
        from modules.world_model.config import CONFIG_ARG_NAMES
        from utils.checkpoint import load_checkpoint, recorded_module_config
        # the model is built as the run recorded it (fusion, gate, widths); an override that contradicts
        # the record is refused by the load
        recorded = recorded_module_config(source, "world_model")
        adopted = {CONFIG_ARG_NAMES[key]: value for key, value in recorded.items()
                   if key in CONFIG_ARG_NAMES and CONFIG_ARG_NAMES[key] not in overrides}
        args = prepare_args(load_config("hop_plus_wm", env_config, {**adopted, **overrides}))
        actor = WMPlannerActor(args)
        load_checkpoint(source, actor.modules(), {}, restore_rng=False)
        for module in actor.modules().values():
            module.eval()
        return args, actor.world_model, actor.coplayer_policy(None)
    from modules.world_model import REGISTRY
    from utils.safe_load import read_torch
    saved = read_torch(source, "wm_price world model")
    args = prepare_args(load_config("hop_plus_wm", env_config, {"wm_latent": saved["config"]["kind"], **overrides}))
    from modules.world_model.fitted import saved_config
    model = REGISTRY[saved["config"]["kind"]](saved_config(saved))
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return args, model, None


def load_world_model_or_exit(source: str, env_config: str, items: list[str], what: str):
    """``load_world_model`` with the command line's ``KEY=VALUE`` overrides; a malformed override, a bad
    config or an unreadable model prints one error line and exits with status 2."""
    from utils.checkpoint import CheckpointError
    from utils.config import parse_yaml_value
    from utils.errors import ConfigError
    malformed = [kv for kv in items if "=" not in kv]
    try:
        if malformed:
            raise ConfigError(f"{what}: overrides must be KEY=VALUE (got {malformed})")
        overrides = {key: parse_yaml_value(value, f"{what} override {key}")
                     for key, value in (kv.split("=", 1) for kv in items)}
        return load_world_model(source, env_config, overrides)
    except (ConfigError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


@torch.no_grad()
def play(args, model, planner, mixture: str, variant: str, episodes: int, seed: int,
         coplayer_model: str = "uniform", diagnose: bool = False, moa=None, partings: list | None = None
         ) -> dict[str, float]:
    """``return``: mean return per planning agent over ``episodes`` episodes; ``s_per_step``: seconds
    per env step. With ``diagnose`` (variant ``learned``) the simulator's Q is also computed at every
    state the learned model's planner decides in (not timed): ``agreement`` is the fraction of
    decisions where both argmaxes are the same action, ``regret`` the mean Q_sim(best) − Q_sim(chosen),
    ``regret_share`` the fraction of decisions whose regret exceeds 0.01; ``agreement_interact`` and
    ``decisions_interact`` are the agreement and count over the decisions where the agent can act on
    its cell (an action beyond the moves and STAY is available: a capture, a removal), the
    decisions a return is made of. With ``partings`` (a list; variant ``learned``, ``one_step``) every
    decision where the two planners part is explained (``scripts.wm_partings``) and its record, with
    the episode's seed, the env step and the planning slot, appended to it."""
    import envs
    from envs import rule_based
    from envs.grid_core import STAY
    from modules.opponent_models.ego import ego_slots
    from modules.world_model.grid_rules import grid_rules
    from planners.wm_models import LatentModel, SimulatorModel
    from scripts.wm_partings import explain_partings

    core = envs.REGISTRY[args.env](batch_size=episodes, **args.env_args).core
    core.reset(np.arange(episodes) + seed)
    n = core.n_agents
    planning = np.arange(n) if mixture == "self" else np.array([0])
    others = np.setdiff1d(np.arange(n), planning)
    coplayer = None if mixture == "self" else rule_based.make(args.env, mixture, np.random.default_rng(seed))

    def value_fn(obs, _time):
        with torch.no_grad():
            return model.value(model.encode(obs))
    rules = grid_rules(args)
    latent = LatentModel(model, rules, args.episode_limit, args.wm_chunk_rows)
    simulator = SimulatorModel(core, value_fn)
    generator = torch.Generator().manual_seed(seed)
    prev = np.full((episodes, n), -1, dtype=np.int64)
    returns = np.zeros((episodes, n))
    steps, began, untimed = 0, time.time(), 0.0
    regrets: list[torch.Tensor] = []
    interacts: list[torch.Tensor] = []
    while not core.done.all():
        actions = np.full((episodes, n), STAY, dtype=np.int64)
        if len(others):
            actions[:, others] = coplayer.act(core, others)
        env_idx, slot = np.nonzero(core.alive[:, planning] & ~core.done[:, None])
        slot = planning[slot]
        if len(env_idx):
            ego = ego_slots(torch.from_numpy(slot), n).numpy()
            prev_ego = torch.from_numpy(prev[env_idx[:, None], ego])
            if variant == "simulator":
                root = simulator.root(core, env_idx, slot, prev_ego)
                model_for = simulator
            else:
                obs = torch.from_numpy(core.observations(env_idx, slot))
                t = torch.from_numpy(core.time()[env_idx])[:, None]
                avail = torch.from_numpy(core.avail_actions()[env_idx[:, None], ego])
                root = latent.root(obs, t, prev_ego, avail)
                model_for = latent
            predict = {"uniform": lambda: uniform_coplayers, "moa": lambda: moa,
                       "rules": lambda: rule_coplayers(core, env_idx, ego[:, 1:], mixture)}[coplayer_model]()
            q = planner.q(model_for, root, predict, generator)
            actions[env_idx, slot] = q.argmax(-1).numpy()
            if diagnose and variant == "learned":
                paused = time.time()
                q_sim = planner.q(simulator, simulator.root(core, env_idx, slot, prev_ego), predict, generator)
                regrets.append(q_sim.max(-1).values - q_sim.gather(1, q.argmax(-1, keepdim=True))[:, 0])
                interacts.append(avail[:, 0, STAY + 1:].any(-1))          # the agent's own (ego-first) actions
                if partings is not None:
                    parted = torch.nonzero(regrets[-1] > 0)[:, 0]            # the partings that cost
                    if len(parted):
                        rows = parted.numpy()
                        records = explain_partings(
                            planner, latent, latent.root(obs[parted], t[parted], prev_ego[parted], avail[parted]),
                            simulator, simulator.root(core, env_idx[rows], slot[rows], prev_ego[parted]),
                            lambda o, tt, p, a, r: predict(o, tt, p, a, parted[r]), generator,
                            rules.channel_names)
                        for record in records:
                            record.update(mixture=mixture, episode_seed=seed + int(env_idx[rows[record["row"]]]),
                                          env_step=steps, slot=int(slot[rows[record["row"]]]))
                            del record["row"]
                        partings.extend(records)
                untimed += time.time() - paused
        rewards, _, _ = core.step(actions)
        returns += rewards
        prev = actions
        steps += 1
    out = {"return": float(returns[:, planning].mean()), "s_per_step": (time.time() - began - untimed) / steps}
    if regrets:
        regret = torch.cat(regrets)
        out.update(agreement=float((regret == 0).float().mean()), regret=float(regret.mean()),
                   regret_share=float((regret > 0.01).float().mean()), decisions=int(regret.numel()))
        interact = torch.cat(interacts)
        out.update(agreement_interact=float((regret[interact] == 0).float().mean()) if interact.any() else float("nan"),
                   decisions_interact=int(interact.sum()))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a world model saved by scripts/fit_world_model.py (model.pt), or the "
                                      "checkpoint folder of a hop_plus_wm run (results/models/<run>/<t_env>)")
    parser.add_argument("overrides", nargs="*", help="run-config overrides KEY=VALUE (e.g. wm_planner=h_step)")
    parser.add_argument("--env-config", default="stag_hunt_small")
    parser.add_argument("--mixtures", nargs="+", default=["NS", "NH", "RAND", "self"])
    parser.add_argument("--variants", nargs="+", choices=("learned", "simulator"), default=["learned", "simulator"],
                        help="the models to plan with (overrides go before this option: after it they would be read as variants)")
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--coplayers", choices=["uniform", "rules", "moa"], default="uniform",
                        help="the co-player model both variants plan with")
    parser.add_argument("--diagnose", action="store_true",
                        help="score every decision of the learned model's planner by the simulator's Q there")
    parser.add_argument("--explain", metavar="FILE",
                        help="with --diagnose: split the learned model's error at every decision where the two "
                             "planners part into reward, continuation and next state (scripts/wm_partings.py); one "
                             "JSON line per parting to FILE (a new file), the summary in each mixture's row")
    options = parser.parse_intermixed_args()
    if options.explain is not None and not options.diagnose:
        parser.error("--explain needs --diagnose (partings are found by scoring the learned planner's decisions)")
    if options.explain is not None and os.path.exists(options.explain):
        parser.error(f"--explain {options.explain}: the file exists; give a new file (nothing is appended)")
    if options.coplayers == "rules" and "self" in options.mixtures:
        parser.error("--coplayers rules: mixture 'self' has no rule (its co-players are planners); drop it")
    torch.set_num_threads(1)
    from controllers.wm_actor import planner_settings
    from planners.wm_planner import WMPlanner
    from scripts.wm_partings import summarise

    args, model, moa = load_world_model_or_exit(options.model, options.env_config, options.overrides, "wm_price")
    if options.coplayers == "moa" and moa is None:
        parser.error(f"--coplayers moa: {options.model} is a world-model fit without an MOA; give the checkpoint "
                     f"folder of a hop_plus_wm run")
    from scripts.wm_partings import check_explainable
    planner = WMPlanner(planner_settings(args))
    if options.explain is not None:
        try:
            check_explainable(planner.settings, "--explain")
        except ValueError as error:
            parser.error(str(error))
    for mixture in options.mixtures:
        row = {"env": options.env_config, "mixture": mixture, "episodes": options.episodes,
               "coplayers": options.coplayers,
               "planner": args.wm_planner, "horizon": args.wm_horizon, "expectation": args.wm_coplayer_expectation,
               "samples": planner.settings.draws}
        for variant in options.variants:
            partings = [] if options.explain is not None and variant == "learned" else None
            result = play(args, model, planner, mixture, variant, options.episodes, options.seed,
                          options.coplayers, options.diagnose, moa, partings)
            row.update({f"{variant}_{key}": value for key, value in result.items()})
            if partings is not None:
                row["partings"] = summarise(partings)
                with open(options.explain, "a") as out:
                    out.writelines(json.dumps(record) + "\n" for record in partings)
        if "learned_return" in row and "simulator_return" in row and row["simulator_return"]:
            row["price"] = 1 - row["learned_return"] / row["simulator_return"]
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
