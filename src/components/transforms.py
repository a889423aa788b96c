"""Preprocess transforms applied by `EpisodeBatch.update` to derive fields.

A transform has `transform(tensor) -> tensor` and
`infer_output_info(vshape_in, dtype_in) -> (vshape_out, dtype_out)`; the batch uses the
latter to add the derived field to its scheme and the former on every write of the source.
"""

from __future__ import annotations

import torch


class OneHot:
    """One-hot encode integer indices stored in a trailing dimension of size 1.

    `[..., 1]` holding values in `[0, out_dim)` becomes a float32 `[..., out_dim]`.
    """

    def __init__(self, out_dim: int) -> None:
        if isinstance(out_dim, bool) or not isinstance(out_dim, int) or out_dim < 1:
            raise ValueError(f"OneHot: out_dim must be a positive int, got {out_dim!r}")
        self.out_dim = out_dim

    def transform(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the one-hot encoding of `tensor` (`[..., 1]` -> `[..., out_dim]`, float32)."""
        if tensor.dim() == 0 or tensor.shape[-1] != 1:
            raise ValueError(
                f"OneHot: expected a trailing dimension of size 1, got shape {tuple(tensor.shape)}"
            )
        index = tensor.long()
        if index.numel():
            low, high = (int(v) for v in torch.aminmax(index))
            if low < 0 or high >= self.out_dim:
                raise ValueError(f"OneHot: values must lie in [0, {self.out_dim}), got range [{low}, {high}]")
        out = torch.zeros(*index.shape[:-1], self.out_dim, dtype=torch.float32, device=index.device)
        return out.scatter_(-1, index, 1.0)

    def infer_output_info(
        self, vshape_in: tuple[int, ...], dtype_in: torch.dtype
    ) -> tuple[tuple[int, ...], torch.dtype]:
        """Shape and dtype of the derived field for a source field of `vshape_in`."""
        vshape_in = (vshape_in,) if isinstance(vshape_in, int) else tuple(vshape_in)
        if not vshape_in or vshape_in[-1] != 1:
            raise ValueError(f"OneHot: source vshape must end in 1, got {vshape_in}")
        return (*vshape_in[:-1], self.out_dim), torch.float32

    def __repr__(self) -> str:
        return f"OneHot(out_dim={self.out_dim})"
