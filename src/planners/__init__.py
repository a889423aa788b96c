"""Planners: batched MCTS (mcts), goal beliefs (belief), co-player goal definitions (goals)."""
