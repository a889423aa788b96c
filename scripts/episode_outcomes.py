"""How episodes end: the payoff profiles of a checkpoint's test episodes, or of rule-based agents.

Each episode's per-agent returns are sorted high to low and counted, so a table shows what the
mean hides; on stag_hunt_small, for example, (5, 5, 1, 1) is a stag split two ways plus two
hares (the welfare maximum, 12) and (3.33, 3.33, 3.33, 1) a stag split three ways (11).

    python -m scripts.episode_outcomes --config hop --checkpoint results/models/<token> --episodes 128
    python -m scripts.episode_outcomes --rules NS NS NH NH --episodes 512        # rules on stag_hunt_small

With --checkpoint, the run's own test episodes are played (greedy actions, the test seed stream)
with --config / --env-config and the --set overrides of that run (e.g. ``roles=[hop,NS,NS,NS]``).
On stag hunt the checkpoint's table is followed by the number of steps in which two or more
agents stood on a live stag and it survived the step (a pair that lets a step pass, so that a
third hunter can catch up). With --rules, one episode per map (seeds 0..episodes-1) on the stag_hunt_small maps of the
search probes, each slot played by its rule.

With --checkpoint and ``--versus-rule RULE``, the same test maps (the same episode seeds) are
played again with RULE in the learned agent's slot (``--focal-slot``, default 0) and the rest of
the roles unchanged, and the paired difference of that slot's return is printed: whether the
trained agent earns at least what the rule earns in its place, map by map.

    python -m scripts.episode_outcomes --config hop --checkpoint results/models/<token> --episodes 512 \
        --set 'roles=[hop,NS,NS,NS]' --versus-rule NS
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np

from utils.errors import ConfigError


class StagWaits:
    """Counts, per env of a rollout, the steps a stag survived with two or more agents on its cell
    (``on_step`` hook of the runner: called before the first step and after every step)."""

    def __init__(self) -> None:
        self.waits: np.ndarray | None = None
        self.pairs_on_stag: np.ndarray | None = None

    def __call__(self, env, t: int) -> None:
        core = env.core
        stag = core.prey_alive & (core.prey_kind == 0)                                   # [B,K] live stags
        if t == 0:
            self.waits = np.zeros(core.batch_size, dtype=np.int64)
        else:
            self.waits += self.pairs_on_stag & stag.any(axis=1)
        same_cell = (core.agent_pos[:, :, None, :] == core.prey_pos[:, None, :, :]).all(-1)  # [B,N,K]
        hunters = (same_cell & stag[:, None, :] & core.alive[:, :, None]).sum(axis=1)    # [B,K]
        self.pairs_on_stag = (hunters >= 2).any(axis=1) & ~core.done   # two or more on a live stag, env playing


@dataclass
class CheckpointEpisodes:
    """A checkpoint's test episodes: per-agent returns ``[episodes, N]``, their episode seeds, the
    run's roles and core (to replay the seeds), and on stag hunt the steps a stag survived with two
    or more agents on it (None on other envs)."""

    returns: np.ndarray
    seeds: np.ndarray
    roles: list[str]
    core: object
    stag_waits: int | None


def checkpoint_returns(options: argparse.Namespace) -> CheckpointEpisodes:
    """The checkpoint's test episodes (greedy, the run's test seed stream)."""
    from experiment import Experiment
    from launch import load_config, prepare_args
    from runners.episode_stats import EpisodeResults
    from utils.config import parse_overrides
    from utils.logging import Logger, get_logger

    overrides = {"save_model": False, "batch_size_run": options.batch_size_run, "seed": options.seed,
                 **parse_overrides(options.set, "--set")}
    experiment = Experiment(prepare_args(load_config(options.config, options.env_config, overrides)),
                            Logger(get_logger()))
    experiment.restore(options.checkpoint)
    runner = experiment.runner
    roles = [str(role) for role in experiment.args.roles]
    if options.versus_rule:           # bad input fails before any episode is played
        check_versus_rule(runner.env.core.name, roles, options.versus_rule, options.focal_slot)
    stag_hunt = runner.env.core.name == "stag_hunt"
    results, waits, seeds = [], [], []
    while sum(len(r.lengths) for r in results) < options.episodes:
        hook = StagWaits() if stag_hunt else None
        seeds.append(runner.episode_seeds(test_mode=True))
        results.append(runner.run(test_mode=True, on_step=hook)[1])
        if hook is not None:
            waits.append(hook.waits)
    returns = EpisodeResults.concat(results).returns[:options.episodes]
    return CheckpointEpisodes(returns, np.concatenate(seeds)[:options.episodes],
                              roles, runner.env.core,
                              int(np.concatenate(waits)[:options.episodes].sum()) if stag_hunt else None)


def check_versus_rule(env_name: str, roles: list[str], rule: str, slot: int) -> None:
    """``rule`` must be a rule of the env, ``slot`` one of the run's, and every other slot a rule
    (the replay plays rules only); else a ValueError that says which."""
    from envs.rule_based import make

    if not 0 <= slot < len(roles):
        raise ValueError(f"--focal-slot {slot}: the run has slots 0..{len(roles) - 1}")
    make(env_name, rule)
    for other, role in enumerate(roles):
        if other != slot:
            try:
                make(env_name, role)
            except ValueError:
                raise ValueError(f"--versus-rule replays the other slots by their rules, but slot {other} is "
                                 f"'{role}', not a rule; use a run whose other roles are rules") from None


def versus_rule(episodes: CheckpointEpisodes, rule: str, slot: int) -> str:
    """The checkpoint's return in ``slot`` against ``rule``'s in that slot on the same episode seeds."""
    from envs.rule_based import play_rules

    check_versus_rule(episodes.core.name, episodes.roles, rule, slot)
    roles = list(episodes.roles)
    roles[slot] = rule
    core = type(episodes.core)(len(episodes.seeds), **episodes.core.args)
    rule_return = play_rules(core, episodes.seeds, roles)[:, slot]
    agent_return = episodes.returns[:, slot]
    difference = agent_return - rule_return
    return (f"slot {slot}: {episodes.roles[slot]} {agent_return.mean():.3f}, {rule} on the same maps "
            f"{rule_return.mean():.3f}; difference {difference.mean():+.3f} ± {difference.std(ddof=1) / np.sqrt(len(difference)):.3f} "
            f"(standard error, {len(difference)} maps; agent below the rule on {np.mean(difference < 0):.0%}, "
            f"above on {np.mean(difference > 0):.0%})")


def rule_returns(options: argparse.Namespace) -> np.ndarray:
    """Per-agent returns [episodes, N] of the rules on stag_hunt_small maps 0..episodes-1."""
    from envs.rule_based import play_rules
    from envs.stag_hunt import StagHuntCore
    from planners.search_probe import STAG_HUNT_SMALL

    core = StagHuntCore(options.episodes, n_agents=len(options.rules), **STAG_HUNT_SMALL)
    return play_rules(core, np.arange(options.episodes), options.rules)


def markdown(returns: np.ndarray) -> str:
    from runners.episode_stats import payoff_profiles

    lines = ["| payoff profile (sorted) | summed return | episodes | share |", "|---|---|---|---|"]
    for profile, count in payoff_profiles(returns):
        lines.append(f"| {', '.join(f'{x:g}' for x in profile)} | {sum(profile):.1f} | {count} | "
                     f"{count / len(returns):.2f} |")
    welfare = returns.sum(axis=1)
    lines.append(f"\nmean summed return {welfare.mean():.2f} ± {welfare.std(ddof=1) / np.sqrt(len(welfare)):.2f} "
                 f"(standard error) over {len(returns)} episodes")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="model dir of a training run (latest step)")
    source.add_argument("--rules", nargs="+", help="one rule per slot (NS, NH, RAND), on stag_hunt_small")
    parser.add_argument("--config", default="hop", help="alg config of the checkpoint's run")
    parser.add_argument("--env-config", default="stag_hunt_small")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides of that run")
    parser.add_argument("--episodes", type=int, default=128)
    parser.add_argument("--batch-size-run", type=int, default=32, help="test envs played together")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--versus-rule", help="with --checkpoint: also play this rule (e.g. NS) in --focal-slot on "
                                              "the same maps and print the paired difference")
    parser.add_argument("--focal-slot", type=int, default=0, help="the learned agent's slot for --versus-rule")
    options = parser.parse_args()
    if options.episodes < 2 or options.batch_size_run < 1:
        print("episode_outcomes: --episodes must be >= 2 and --batch-size-run >= 1", file=sys.stderr)
        return 2
    if options.versus_rule and not options.checkpoint:
        print("episode_outcomes: --versus-rule compares a --checkpoint's agent with a rule", file=sys.stderr)
        return 2
    import torch
    from utils.checkpoint import CheckpointError
    torch.set_num_threads(1)
    try:
        if options.checkpoint:
            episodes = checkpoint_returns(options)
            returns, waits = episodes.returns, episodes.stag_waits
            comparison = versus_rule(episodes, options.versus_rule, options.focal_slot) if options.versus_rule else None
        else:
            returns, waits, comparison = rule_returns(options), None, None
    except (ConfigError, CheckpointError, ValueError) as error:
        print(f"episode_outcomes: {error}", file=sys.stderr)
        return 2
    print(markdown(returns))
    if waits is not None:
        print(f"steps a stag survived with two or more agents on it: {waits}")
    if comparison is not None:
        print(comparison)
    return 0


if __name__ == "__main__":
    sys.exit(main())
