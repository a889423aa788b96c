"""The declarative table of every configuration key: its type, allowed range or choices, and the
constraints between keys.

``config/default.yaml`` holds each key's default and comment; this table holds what values are
allowed. ``validation.py`` reads it before a run is recorded (a test keeps the two key lists
equal). Choices that are the names of a registry (learners, envs, ...) are given by the
registry's name in ``registry``; this leaf module imports no registry, the validator resolves them.

Other modules add their own keys with ``register_keys`` and constraints with
``register_constraint`` (e.g. a learner declaring the keys it reads); the validator merges all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

SEED_MAX = 2**32 - 1          # numpy's seed range
INF = math.inf


def _number(x: float) -> str:
    """``4294967295``, ``0.5``, ``1e+09`` (whole numbers in full up to 10**15)."""
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}"


@dataclass(frozen=True)
class ConfigKey:
    """What one key (dotted for nested keys) may hold.

    ``types``: allowed Python types (``float`` keys also take ints). ``low``/``high``: inclusive
    numeric bounds unless ``low_open``/``high_open``; for lists they bound every item. ``choices``:
    allowed literal values (of the value, or of each item of a list). ``registry``: name of a
    registry the value (or each item) must be in. ``min_len``/``max_len``/``unique``: list shape.
    ``item_types``: the type of a list's items.
    """

    name: str
    types: tuple[type, ...]
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    registry: str | None = None
    item_types: tuple[type, ...] | None = None
    min_len: int | None = None
    max_len: int | None = None
    unique: bool = False
    nonempty: bool = False

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        parts = []
        if self.low is not None or self.high is not None:
            lo = "-inf" if self.low is None else _number(self.low)
            hi = "inf" if self.high is None else _number(self.high)
            parts.append(f"{'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}")
        if self.choices is not None:
            parts.append("one of " + ", ".join(map(str, self.choices)))
        if self.min_len is not None or self.max_len is not None:
            parts.append(f"length {self.min_len or 0}..{'any' if self.max_len is None else self.max_len}")
        if self.unique:
            parts.append("no repeated entries")
        if self.nonempty:
            parts.append("not empty")
        return "; ".join(parts) or "any value of the type"


@dataclass(frozen=True)
class Constraint:
    """A rule between keys: ``check(config)`` returns None when satisfied, else the message
    (what is wrong, with the values, and what is allowed)."""

    keys: tuple[str, ...]
    check: Callable[[Mapping[str, Any]], str | None]
    doc: str = ""


# ---------------------------------------------------------------- builders (short table rows)
def Int(name: str, low: float | None = None, high: float | None = None, nullable: bool = False, **kw: Any) -> ConfigKey:
    return ConfigKey(name, (int, type(None)) if nullable else (int,), low=low, high=high, **kw)


def Float(name: str, low: float | None = -INF, high: float | None = INF, **kw: Any) -> ConfigKey:
    return ConfigKey(name, (float, int), low=low, high=high, **kw)


def Prob(name: str, **kw: Any) -> ConfigKey:
    return Float(name, 0.0, 1.0, **kw)


def Rate(name: str) -> ConfigKey:
    """A learning rate: (0, 1]."""
    return Float(name, 0.0, 1.0, low_open=True)


def Bool(name: str) -> ConfigKey:
    return ConfigKey(name, (bool,), choices=(True, False))


def Str(name: str, **kw: Any) -> ConfigKey:
    return ConfigKey(name, (str,), **kw)


def Path(name: str) -> ConfigKey:
    """A file or folder path; "" = not set. Whether it exists is checked by the pre-run checks."""
    return ConfigKey(name, (str,))


def IntList(name: str, low: float = 1, **kw: Any) -> ConfigKey:
    return ConfigKey(name, (list,), item_types=(int,), low=low, **kw)


def StrList(name: str, **kw: Any) -> ConfigKey:
    return ConfigKey(name, (list,), item_types=(str,), **kw)


MAX_BATCH = 65536

KEYS: list[ConfigKey] = [
    # --- experiment
    Str("name", nonempty=True),
    Int("seed", 0, SEED_MAX),
    Int("t_max", 1, 10**12),
    Str("run_mode", registry="run_mode"),
    Bool("evaluate"),
    Bool("save_replay"),
    Int("replay_episodes", 1, MAX_BATCH),
    Bool("use_cuda"),
    # --- adaptation
    Path("adapt_checkpoint"),
    Int("adapt_episodes", 1, 10**9),
    Int("adapt_batch_size_run", 1, MAX_BATCH),
    ConfigKey("adapt_report_first", (list,), item_types=(int,), low=1, high=10**9, min_len=1, unique=True),
    # --- environment
    Str("env", registry="env"),
    ConfigKey("env_args", (dict,)),
    Int("env_args.n_agents", 1, 9),
    ConfigKey("env_args.grid_size", (int, list), item_types=(int,), low=2, high=1000, min_len=2, max_len=2),
    Int("env_args.n_stags", 0, 10**6),
    Int("env_args.n_hares", 0, 10**6),
    Int("env_args.n_drifts", 0, 10**6),
    Int("env_args.n_walls", 0, 10**6),
    Int("env_args.episode_limit", 1, 10**6),
    Float("env_args.stag_reward", -1e9, 1e9),
    Float("env_args.hare_reward", -1e9, 1e9),
    Float("env_args.drift_reward", -1e9, 1e9),
    Float("env_args.drift_cost", -1e9, 1e9),
    Int("env_args.obs_radius", 0, 1000, nullable=True),
    ConfigKey("env_args.layout", (list, type(None)), item_types=(str,), min_len=1),
    Int("env_args.seed", 0, SEED_MAX, nullable=True),
    # --- who plays
    StrList("roles", min_len=1, max_len=9, nonempty=True),
    Bool("shuffle_slots"),
    Bool("share_params"),
    # --- rollouts
    Str("runner", registry="runner"),
    Int("batch_size_run", 1, MAX_BATCH),
    Int("test_interval", 1, 10**12),
    Int("test_nepisode", 1, 10**7),
    Bool("test_greedy"),
    # --- buffer and training
    Int("buffer_size", 1, 10**9),
    Int("batch_size", 1, 10**9),
    StrList("learners", registry="learner_slot", unique=True, max_len=16),
    Str("learner", registry="learner"),
    Str("agent", registry="agent"),
    Str("actor", registry="actor"),
    Rate("lr"),
    Float("optim_eps", 0.0, 1.0, low_open=True),
    Float("grad_norm_clip", 0.0, 1e9, low_open=True),
    Prob("gamma"),
    Int("hidden_dim", 1, 65536),
    IntList("conv_channels", 1, high=4096, max_len=16),
    # --- PPO
    Prob("gae_lambda"),
    Float("ppo_clip", 0.0, 10.0, low_open=True),
    Float("value_clip", 0.0, 1e9),
    Float("entropy_coef", 0.0, 1e3),
    Float("value_loss_coef", 0.0, 1e3),
    Int("ppo_epochs", 1, 10**4),
    Int("ppo_minibatches", 1, 10**6),
    Bool("normalise_advantages"),
    # --- logging and checkpoints
    Int("log_interval", 1, 10**12),
    Bool("use_tensorboard"),
    Str("local_results_path", nonempty=True),
    Bool("save_model"),
    Int("save_model_interval", 1, 10**12),
    Bool("save_buffer"),
    Path("checkpoint_path"),
    Int("load_step", 0, 10**12),
    Bool("resume_in_place"),
    # --- HOP planning
    Float("inter_om_alpha", 0.0, 1.0, low_open=True),
    Float("c_puct", 0.0, 1e6, low_open=True),
    Int("tree_num", 1, 10**4),
    Int("num_simulations", 1, 10**7),
    Prob("mcts_discount"),
    Int("mcts_rollout_depth", 0, 10**4),
    Prob("mcts_root_noise_fraction"),
    Float("mcts_root_dirichlet_alpha", 0.0, 1e6, low_open=True),
    Float("q_temperature", 0.0, 1e6, low_open=True),
    Str("mcts_policy_target", registry="mcts_policy_target"),
    Str("coplayer_goals", registry="coplayer_goals"),
    Float("belief_prior_count", 0.0, 1e9, low_open=True),
    Float("belief_prior_share", 0.0, 1e6),
    Int("coplayer_hidden_dim", 1, 65536),
    IntList("coplayer_conv_channels", 1, high=4096, max_len=16),
    Rate("coplayer_lr"),
    Int("coplayer_epochs", 1, 10**4),
    Int("az_epochs", 1, 10**4),
    Str("goal_update", registry="goal_update"),
    # --- HOP+
    Bool("use_subgoal"),
    Int("subgoal_dim", 1, 65536),
    Int("omg_horizon", 1, 10**4),
    Str("selector", registry="selector"),
    Str("recon_loss", registry="recon_loss"),
    Float("omg_kl_alpha", 0.0, 1e6),
    Rate("omg_lr"),
    Int("omg_epochs", 1, 10**4),
    Int("om_hidden_dim", 1, 65536),
    IntList("om_conv_channels", 1, high=4096, max_len=16),
    StrList("policy_inputs", registry="policy_input", unique=True),
    Bool("moa_subgoal"),
    Rate("moa_lr"),
    Int("moa_epochs", 1, 10**4),
    Int("moa_minibatches", 1, 10**6),
    Rate("vae_lr"),
    Float("vae_kl_alpha", 0.0, 1e6),
    Int("vae_kl_warmup", 0, 10**9),
    Bool("vae_moa_head"),
    Float("vae_moa_coef", 0.0, 1e6),
    Path("vae_load_path"),
    Path("moa_load_path"),
    Int("probe_episodes", 2, 10**7),
    # --- pretraining pipeline
    Path("dataset_path"),
    Int("collect_episodes", 1, 10**9),
    ConfigKey("collect_mixtures", (list,), item_types=(list,)),
    Int("pretrain_epochs", 1, 10**6),
    Int("pretrain_batch_size", 1, 10**7),
    Bool("pretrain_moa"),
    Path("pretrain_save_path"),
    # --- world-model planning
    Str("wm_latent", registry="wm_latent"),
    Int("wm_spatial_channels", 1, 4096),
    Int("wm_spatial_blocks", 0, 64),
    Str("wm_spatial_fusion", registry="wm_spatial_fusion"),
    Bool("wm_reward_gate"),
    Int("wm_latent_dim", 1, 65536),
    Str("wm_reward_loss", registry="wm_reward_loss"),
    Int("wm_hidden_dim", 1, 65536),
    Bool("wm_decoder"),
    Str("wm_loss", registry="wm_loss"),
    Float("wm_pos_weight_max", 1.0, 1e9),
    Float("wm_reward_coef", 0.0, 1e6),
    Float("wm_value_coef", 0.0, 1e6),
    Rate("wm_lr"),
    Int("wm_epochs", 1, 10**4),
    Str("wm_planner", registry="wm_planner"),
    Int("wm_horizon", 1, 10**4),
    Str("wm_coplayer_expectation", registry="wm_expectation"),
    Int("wm_samples", 1, 10**6),
    Float("wm_mass", 0.0, 1.0, low_open=True),
    Int("wm_chunk_rows", 1, 10**9),
    Str("wm_explore", registry="wm_explore"),
    Float("wm_temperature", 0.0, 1e6, low_open=True),
    Prob("wm_epsilon"),
    Path("wm_load_path"),
    Float("real_ratio", 0.0, 1.0, low_open=True),
    Int("imagine_horizon", 1, 10**6),
]


# ---------------------------------------------------------------- constraints between keys
def _at_most(small: str, big: str, why: str) -> Constraint:
    def check(c: Mapping[str, Any]) -> str | None:
        if c[small] > c[big]:
            return f"{small} ({c[small]}) must be <= {big} ({c[big]}): {why}"
        return None
    return Constraint((small, big), check, f"{small} <= {big}")


# Learners that sample ``batch_size`` episodes from the buffer (the others train on the latest rollout).
SAMPLING_LEARNERS = ("alphazero", "world_model", "goal_model", "subgoal_model")


def _batch_fits(c: Mapping[str, Any]) -> str | None:
    used = [c["learner"] if slot == "policy" else slot for slot in c["learners"]]
    sampling = [name for name in used if name in SAMPLING_LEARNERS]
    if sampling and c["batch_size"] > c["buffer_size"]:
        return (f"batch_size ({c['batch_size']}) must be <= buffer_size ({c['buffer_size']}): learner "
                f"'{sampling[0]}' samples batch_size episodes from the replay buffer")
    return None


def _replay_fits(c: Mapping[str, Any]) -> str | None:
    if c["save_replay"] and c["replay_episodes"] > c["batch_size_run"]:
        return (f"replay_episodes ({c['replay_episodes']}) must be <= batch_size_run ({c['batch_size_run']}) "
                "with save_replay: the replays are one test batch")
    return None


def _replay_needs_evaluate(c: Mapping[str, Any]) -> str | None:
    if c["save_replay"] and not c["evaluate"]:
        return "save_replay=True is only used with evaluate=True; set evaluate=True (and checkpoint_path)"
    return None


def _evaluate_needs_checkpoint(c: Mapping[str, Any]) -> str | None:
    if c["evaluate"] and not c["checkpoint_path"] and c["name"] in c["roles"] and c["run_mode"] == "train":
        return f"evaluate=True with the learned role '{c['name']}' in roles needs checkpoint_path"
    return None


def _learned_role_present(c: Mapping[str, Any]) -> str | None:
    trains = c["run_mode"] == "train" and not c["evaluate"]
    if trains and "policy" in c["learners"] and c["name"] not in c["roles"]:
        return (f"roles {list(c['roles'])} hold no slot of the learned role '{c['name']}', so nothing would be "
                f"trained; put '{c['name']}' in roles (e.g. roles=[{c['name']},NS,NS,NS]) or use evaluate=True")
    return None


def _something_learns(c: Mapping[str, Any]) -> str | None:
    if c["run_mode"] in ("train", "adapt") and not c["evaluate"] and not c["learners"]:
        return f"learners is empty: run_mode={c['run_mode']} would train nothing; e.g. learners=[policy], or use evaluate=True"
    return None


def _load_step_needs_checkpoint(c: Mapping[str, Any]) -> str | None:
    if c["load_step"] and not (c["checkpoint_path"] or c["adapt_checkpoint"]):
        return f"load_step={c['load_step']} selects a checkpoint but neither checkpoint_path nor adapt_checkpoint is set"
    return None


def _resume_in_place(c: Mapping[str, Any]) -> str | None:
    if c["resume_in_place"] and (not c["checkpoint_path"] or c["evaluate"] or c["run_mode"] != "train"):
        return "resume_in_place=True continues a training run: it needs checkpoint_path, run_mode=train and evaluate=False"
    return None


def _adapt_counts(c: Mapping[str, Any]) -> str | None:
    if c["run_mode"] != "adapt":
        return None
    if c["adapt_episodes"] % c["adapt_batch_size_run"]:
        return (f"adapt_episodes ({c['adapt_episodes']}) must be a multiple of adapt_batch_size_run "
                f"({c['adapt_batch_size_run']}): episodes are played adapt_batch_size_run at a time")
    late = [k for k in c["adapt_report_first"] if k > c["adapt_episodes"]]
    if late:
        return f"adapt_report_first {late} must be <= adapt_episodes ({c['adapt_episodes']})"
    return None


def _probe_counts(c: Mapping[str, Any]) -> str | None:
    if c["run_mode"] == "probe_subgoals" and c["probe_episodes"] < 2 * c["batch_size_run"]:
        return (f"probe_episodes ({c['probe_episodes']}) must be >= 2 x batch_size_run ({c['batch_size_run']}): "
                "half the episodes train the probe, half test it")
    return None


def _imagine_horizon(c: Mapping[str, Any]) -> str | None:
    limit = c["env_args"]["episode_limit"]
    if c["imagine_horizon"] > limit:
        return f"imagine_horizon ({c['imagine_horizon']}) must be <= env_args.episode_limit ({limit})"
    return None


def _recon_needs_decoder(c: Mapping[str, Any]) -> str | None:
    if "world_model" in c["learners"] and c["wm_loss"] == "recon" and not c["wm_decoder"]:
        return "wm_loss: recon needs wm_decoder: True (or set wm_loss: latent)"
    return None


CONSTRAINTS: list[Constraint] = [
    _at_most("batch_size_run", "buffer_size", "one rollout must fit in the replay buffer"),
    Constraint(("batch_size", "buffer_size", "learners", "learner"), _batch_fits, "sampled batches fit the buffer"),
    Constraint(("save_replay", "replay_episodes", "batch_size_run"), _replay_fits, "replays fit in one test batch"),
    Constraint(("save_replay", "evaluate"), _replay_needs_evaluate, "save_replay needs evaluate"),
    Constraint(("evaluate", "checkpoint_path", "roles"), _evaluate_needs_checkpoint, "evaluate needs a checkpoint"),
    Constraint(("run_mode", "learners", "roles", "name"), _learned_role_present, "training needs a learned role"),
    Constraint(("run_mode", "learners", "evaluate"), _something_learns, "training needs a learner"),
    Constraint(("load_step", "checkpoint_path"), _load_step_needs_checkpoint, "load_step needs a checkpoint"),
    Constraint(("resume_in_place", "checkpoint_path", "evaluate"), _resume_in_place, "resume in place needs a run"),
    Constraint(("adapt_episodes", "adapt_report_first", "adapt_batch_size_run"), _adapt_counts,
               "adaptation episode counts"),
    Constraint(("probe_episodes", "batch_size_run"), _probe_counts, "probe needs two halves"),
    Constraint(("imagine_horizon", "env_args.episode_limit"), _imagine_horizon, "imagined episodes fit the limit"),
    Constraint(("wm_loss", "wm_decoder", "learners"), _recon_needs_decoder, "recon loss needs a decoder"),
]


def register_keys(keys: list[ConfigKey]) -> None:
    """Add keys declared by another module (e.g. a learner); a name already declared is an error."""
    known = {k.name for k in KEYS}
    for key in keys:
        if key.name in known:
            raise ValueError(f"config key '{key.name}' is declared twice")
        KEYS.append(key)
        known.add(key.name)


def register_constraint(constraint: Constraint) -> None:
    """Add a rule between keys declared by another module."""
    CONSTRAINTS.append(constraint)


def key_table() -> dict[str, ConfigKey]:
    """Every declared key by dotted name."""
    return {k.name: k for k in KEYS}
