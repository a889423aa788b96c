"""RGB frames of the grid games and animated GIFs of episodes."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import imageio.v3 as iio
import numpy as np

EMPTY = (235, 235, 235)
GRID_LINE = (205, 205, 205)
WALL = (60, 60, 60)
PREY_COLOURS = {"stag": (139, 69, 19), "hare": (230, 190, 120), "drift": (160, 205, 255)}
OTHER_PREY = (120, 200, 120)
AGENT_COLOURS = ((220, 50, 47), (38, 110, 210), (60, 160, 40), (240, 130, 0), (130, 60, 190),
                 (0, 170, 170), (220, 60, 150), (150, 120, 0), (20, 20, 20))


def render_rgb(core: Any, index: int = 0, cell: int = 16) -> np.ndarray:
    """Draw env ``index`` of a batched grid core as uint8 ``[H*cell, W*cell, 3]``.

    Walls are dark grey, prey fill their cell (stag brown, hare tan, drift light blue),
    live agents are inner squares in their own colour (agent_i uses ``AGENT_COLOURS[i % 9]``);
    agents sharing a cell split the square into vertical stripes.
    """
    if cell < 1:
        raise ValueError(f"render_rgb: cell = {cell} must be >= 1 pixel")
    grid = np.empty((core.height, core.width, 3), dtype=np.uint8)
    grid[:] = EMPTY
    grid[core.walls[index]] = WALL
    for k in np.flatnonzero(core.prey_alive[index]):
        name = core.prey_kind_names[int(core.prey_kind[index, k])]
        row, col = core.prey_pos[index, k]
        grid[row, col] = PREY_COLOURS.get(name, OTHER_PREY)
    img = np.repeat(np.repeat(grid, cell, axis=0), cell, axis=1)
    if cell >= 4:
        img[::cell] = GRID_LINE
        img[:, ::cell] = GRID_LINE
    by_cell: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in np.flatnonzero(core.alive[index]):
        by_cell[tuple(int(x) for x in core.agent_pos[index, i])].append(int(i))
    lo, hi = cell // 4, cell - cell // 4
    for (row, col), agents in by_cell.items():
        edges = np.linspace(lo, hi, len(agents) + 1).round().astype(int)
        for j, i in enumerate(agents):
            img[row * cell + lo:row * cell + hi, col * cell + edges[j]:col * cell + max(edges[j + 1], edges[j] + 1)] = \
                AGENT_COLOURS[i % len(AGENT_COLOURS)]
    return img


def write_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 4) -> Path:
    """Write RGB frames (uint8 ``[H, W, 3]``, equal shapes) as a looping animated GIF; returns the path.

    The GIF writer merges identical consecutive frames into one shown for their summed duration.
    """
    if len(frames) == 0:
        raise ValueError("write_gif: no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.stack(frames).astype(np.uint8), extension=".gif", duration=1000.0 / fps, loop=0)
    return path
