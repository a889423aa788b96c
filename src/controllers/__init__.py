"""Actor registry: ``REGISTRY[args.actor](args)`` builds how the learned role acts.

The role controller (``controllers.role_controller.RoleController``) runs every slot by its
role and asks this registry for the learned role's actor.
"""
from controllers.actors import PolicyActor
from controllers.mcts_actor import MCTSActor
from controllers.subgoal_actor import SubgoalActor
from controllers.subgoal_mcts_actor import SubgoalMCTSActor
from controllers.wm_actor import SubgoalWMActor, WMPlannerActor

REGISTRY = {
    "policy": PolicyActor,
    "subgoal": SubgoalActor,
    "mcts": MCTSActor,
    "mcts_subgoal": SubgoalMCTSActor,
    "wm_planner": WMPlannerActor,
    "subgoal_wm": SubgoalWMActor,
}
