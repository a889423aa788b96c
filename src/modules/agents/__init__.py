"""Policy network registry: ``REGISTRY[name](input_spec, n_actions, args) -> nn.Module``."""
from modules.agents.cnn_actor_critic import CNNActorCritic

REGISTRY = {
    "cnn_actor_critic": CNNActorCritic,
}
