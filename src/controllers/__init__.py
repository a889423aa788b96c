"""Multi-agent controller registry."""
from controllers.role_controller import RoleController

REGISTRY = {
    "roles": RoleController,
}
