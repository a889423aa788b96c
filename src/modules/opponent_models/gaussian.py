"""Diagonal Gaussian helpers for the VAE and the OMG_AM CVAE."""
from __future__ import annotations

import torch

from utils.draws import normal_like


def reparameterise(mu: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A sample ``mu + sigma * eps`` (differentiable in mu and log_var)."""
    eps = normal_like(mu, generator)
    return mu + (0.5 * log_var).exp() * eps


def kl_divergence(mu_q: torch.Tensor, log_var_q: torch.Tensor, mu_p: torch.Tensor | None = None,
                  log_var_p: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians, summed over the last dimension (p = N(0, I) when omitted)."""
    if mu_p is None:
        mu_p, log_var_p = torch.zeros_like(mu_q), torch.zeros_like(log_var_q)
    return 0.5 * (log_var_p - log_var_q + (log_var_q.exp() + (mu_q - mu_p) ** 2) / log_var_p.exp() - 1).sum(-1)
