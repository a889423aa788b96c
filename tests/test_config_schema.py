"""The key table (utils/config_schema.py) and the validator that reads it (validation.py)."""
import math
import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from launch import declared_defaults, load_config
from utils.config_schema import KEYS, ConfigKey, Constraint, key_table, register_constraint, register_keys
from utils.errors import ConfigError
from validation import REGISTRIES, _flat_keys, check_key, validate_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config_keys() -> set[str]:
    """default.yaml's keys and those learners and actors declare."""
    with open(os.path.join(REPO, "config", "default.yaml")) as f:
        keys = set(_flat_keys(yaml.safe_load(f)))
    return keys | set(declared_defaults())


def test_table_lists_exactly_the_keys_of_the_config():
    assert set(key_table()) == config_keys()
    assert len(KEYS) == len(key_table()), "a key is declared twice"


def test_every_key_has_a_range_or_choices():
    """Numbers have bounds, names a registry or choices, lists an item type; nothing is 'anything'."""
    for key in KEYS:
        if key.types == (dict,):
            continue
        numeric = any(t in key.types for t in (int, float)) and bool not in key.types
        if numeric or key.item_types in ((int,),):
            assert key.low is not None and key.high is not None, key.name
        if key.types == (str,) and key.registry is None and key.choices is None:
            assert key.name.endswith(("_path", "checkpoint")) or key.nonempty, key.name


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
def test_every_registry_named_by_the_table_resolves(registry):
    assert len(REGISTRIES[registry]()) >= 1
    assert registry in {k.registry for k in KEYS}


def test_every_shipped_config_passes():
    for alg in os.listdir(os.path.join(REPO, "config", "algs")):
        for env in os.listdir(os.path.join(REPO, "config", "envs")):
            validate_config(load_config(alg[:-5], env[:-5], {}))


INT_KEYS = [k for k in KEYS if k.types[0] is int and k.low is not None]


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(INT_KEYS), offset=st.integers(1, 10**6))
def test_ints_outside_their_range_are_refused_and_the_bounds_accepted(key, offset):
    check_key(key, int(key.low))
    check_key(key, int(key.high))
    with pytest.raises(ConfigError, match=f"{key.name} = .* is out of range"):
        check_key(key, int(key.low) - offset)
    with pytest.raises(ConfigError, match=f"{key.name} = .* is out of range"):
        check_key(key, int(key.high) + offset)


FLOAT_KEYS = [k for k in KEYS if k.types == (float, int)]


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(FLOAT_KEYS), value=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_non_finite_floats_are_refused(key, value):
    with pytest.raises(ConfigError, match="out of range"):
        check_key(key, value)


def test_bool_is_not_an_int_and_lists_check_items():
    with pytest.raises(ConfigError, match="seed must be int"):
        check_key(key_table()["seed"], True)
    with pytest.raises(ConfigError, match=r"roles\[1\] must be str"):
        check_key(key_table()["roles"], ["ppo", 3, "NS", "NS"])
    with pytest.raises(ConfigError, match="has 3 entries; allowed: .*length 2..2"):
        check_key(key_table()["env_args.grid_size"], [4, 5, 7])
    with pytest.raises(ConfigError, match=r"env_args.grid_size\[1\] = 1 is out of range"):
        check_key(key_table()["env_args.grid_size"], [4, 1])


def test_config_key_missing_from_the_table_is_refused():
    config = load_config("ppo", "stag_hunt_small", {})
    config["made_up"] = 1
    with pytest.raises(ConfigError, match="'made_up' has no entry in the key table"):
        validate_config(config)


def test_other_modules_can_add_keys_and_constraints():
    """A learner declaring its own key and a rule: both are checked; declaring a key twice is refused."""
    from utils import config_schema
    before_keys = len(KEYS)
    before_rules = len(config_schema.CONSTRAINTS)
    try:
        register_keys([ConfigKey("demo_steps", (int,), low=1, high=10)])
        register_constraint(Constraint(("demo_steps", "t_max"),
                                       lambda c: "demo_steps must divide t_max" if c["t_max"] % c["demo_steps"] else None))
        config = load_config("ppo", "stag_hunt_small", {})
        config["demo_steps"] = 3
        with pytest.raises(ConfigError, match="demo_steps must divide t_max"):
            validate_config(config)
        config["demo_steps"] = 11
        with pytest.raises(ConfigError, match="demo_steps = 11 is out of range"):
            validate_config(config)
        with pytest.raises(ValueError, match="declared twice"):
            register_keys([ConfigKey("seed", (int,))])
    finally:
        del KEYS[before_keys:]
        del config_schema.CONSTRAINTS[before_rules:]


def test_a_learner_contributes_a_range_for_its_own_key(monkeypatch):
    """A learner's ``config_keys`` entry is checked like the table's; a key it only declares in
    ``config_defaults`` is accepted with its type."""
    import learners
    from learners.ppo_learner import PPOLearner

    class Demo(PPOLearner):
        config_defaults = {"demo_rate": 0.5, "demo_free": 1}
        config_keys = [ConfigKey("demo_rate", (float, int), low=0.0, high=1.0)]

    monkeypatch.setitem(learners.REGISTRY, "demo", Demo)
    config = load_config("ppo", "stag_hunt_small", {})
    config["demo_rate"], config["demo_free"] = 0.5, 7
    validate_config(config)
    config["demo_rate"] = 2.0
    with pytest.raises(ConfigError, match="demo_rate = 2.0 is out of range"):
        validate_config(config)
