"""Shared batched grid machinery for the HOP grid games (docs/design.md: Environments).

``GridCore`` holds B independent envs as numpy arrays (see docs/ARCHITECTURE.md,
"Batched core"); subclasses (``StagHuntCore``, ``SnowdriftCore``) define the actions that
interact with prey and how an interaction is resolved into rewards.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np

from envs.actions import check_action_array

from envs.env_args import EnvArgsError, validate_env_args

STAY = 4
MOVE_NAMES = ("UP", "DOWN", "LEFT", "RIGHT", "STAY")
MOVE_DELTAS = np.array([[-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]], dtype=np.int64)
MAX_WALL_ROUNDS = 1_000
WALL_TRIES_PER_ROUND = 2
WALL_CANDIDATES = 4


def _piece_variants(cells: list[tuple[int, int]]) -> list[tuple[tuple[int, int], ...]]:
    """All distinct rotations/reflections of a piece, normalised to a (0, 0) corner."""
    variants = set()
    for flip in (False, True):
        pts = [(r, -c) if flip else (r, c) for r, c in cells]
        for _ in range(4):
            pts = [(c, -r) for r, c in pts]
            r0, c0 = min(r for r, _ in pts), min(c for _, c in pts)
            variants.add(tuple(sorted((r - r0, c - c0) for r, c in pts)))
    return sorted(variants)


# Wall piece kinds: straight 3, straight 4, L of 3 cells, L of 4 cells (2, 2, 4 and 8
# orientations). A piece is drawn by kind (uniform) then orientation (uniform): one uniform
# index into _PIECE_DRAW (8 slots per kind, each orientation repeated 8 / count times).
# Offsets are padded to 4 cells by repeating the first cell.
_WALL_KINDS = [_piece_variants(c) for c in (
    [(0, 0), (0, 1), (0, 2)], [(0, 0), (0, 1), (0, 2), (0, 3)],
    [(0, 0), (1, 0), (1, 1)], [(0, 0), (1, 0), (2, 0), (2, 1)])]
_PIECE_OFFSETS = np.array([list(v) + [v[0]] * (4 - len(v)) for kind in _WALL_KINDS for v in kind], dtype=np.int64)
_KIND_START = np.cumsum([0] + [len(k) for k in _WALL_KINDS])[:-1]
_PIECE_DRAW = np.array([start + o * len(kind) // 8 for start, kind in zip(_KIND_START, _WALL_KINDS)
                        for o in range(8)], dtype=np.int64)
_PIECE_EXTENT = _PIECE_OFFSETS.max(axis=1) + 1  # [P, 2] (height, width)


@dataclass
class CoreTables:
    """Per-env lookup tables derived from an episode's static layout (walls, prey cells and kinds):
    ``cell_avail bool[B, H*W, A]``, the actions available on each cell while its prey lives
    (before the alive/done mask), ``cell_prey int64[B, H*W]``, the prey on each cell (-1 none),
    and ``wall_cells int64[B, M]``, each env's wall cells (row-major; padded with -1 to the most
    walls of the batch). Built at reset and never mutated, so snapshots share them instead of copying."""

    cell_avail: np.ndarray
    cell_prey: np.ndarray
    wall_cells: np.ndarray

    def select(self, index: np.ndarray) -> "CoreTables":
        """Tables of envs ``index`` (selects/repeats)."""
        tables = (self.cell_avail, self.cell_prey, self.wall_cells)
        return CoreTables(*(np.take(table, index, axis=0) for table in tables))


@dataclass
class CoreState:
    """Deep copy of a batched core's simulator state (arrays and per-env RNG states), with the
    static lookup tables of its layout (``tables``; rebuilt by ``set_state`` when None)."""

    walls: np.ndarray
    agent_pos: np.ndarray
    alive: np.ndarray
    prey_pos: np.ndarray
    prey_kind: np.ndarray
    prey_alive: np.ndarray
    t: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    rng_states: list[dict]
    tables: CoreTables | None = None

    @property
    def batch_size(self) -> int:
        return int(self.t.shape[0])


@dataclass
class GridOnes:
    """Rows of 0/1 grids ``[E,C,H,W]`` (``state_observation`` or full-view ``observations`` rows) by
    where their ones are, for networks whose first layer is linear in the grid (a few percent of the
    entries are 1): ``cells int64[E,P]``, the flat ``C*H*W`` positions of the agents', walls' and
    prey's ones, padded with ``size`` = C*H*W (agents that left, prey captured, fewer walls than
    another row). ``dense()`` rebuilds the grids."""

    cells: np.ndarray
    shape: tuple[int, int, int]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def dense(self) -> np.ndarray:
        """The grids as float32[E,C,H,W]."""
        rows = len(self.cells)
        flat = np.zeros((rows, self.size + 1), dtype=np.float32)
        flat[np.arange(rows)[:, None], self.cells] = 1.0
        return flat[:, :-1].reshape(rows, *self.shape)


_ARRAY_FIELDS = tuple(f.name for f in fields(CoreState) if f.name not in ("rng_states", "tables"))


@dataclass
class Layout:
    """A parsed ``env_args.layout``: walls, prey (positions, kinds) and agent starts."""

    walls: np.ndarray
    prey_pos: np.ndarray
    prey_kind: np.ndarray
    agent_pos: np.ndarray


def parse_layout(env_name: str, rows: Sequence[str], prey_chars: dict[str, int], n_agents: int) -> Layout:
    """Parse layout rows (``.`` empty, ``#`` wall, prey letters, ``1``..``9`` agent starts)."""
    allowed = "." + "#" + "".join(prey_chars) + "123456789"[:max(n_agents, 1)]
    width = len(rows[0])
    walls = np.zeros((len(rows), width), dtype=bool)
    prey_pos, prey_kind, agents = [], [], {}
    for r, row in enumerate(rows):
        if len(row) != width:
            raise EnvArgsError(f"{env_name}: env_args.layout rows must have equal length: row 0 has {width} "
                               f"characters, row {r} has {len(row)} ({row!r})")
        for c, ch in enumerate(row):
            if ch == "#":
                walls[r, c] = True
            elif ch in prey_chars:
                prey_pos.append((r, c))
                prey_kind.append(prey_chars[ch])
            elif ch in "123456789" and int(ch) <= n_agents:
                if ch in agents:
                    raise EnvArgsError(f"{env_name}: env_args.layout places agent {ch} twice "
                                       f"(row {agents[ch][0]}, col {agents[ch][1]} and row {r}, col {c})")
                agents[ch] = (r, c)
            elif ch in "123456789":
                raise EnvArgsError(f"{env_name}: env_args.layout places agent digit {ch!r} at row {r}, col {c} "
                                   f"but n_agents = {n_agents} (digits 1..{n_agents} allowed)")
            elif ch != ".":
                raise EnvArgsError(f"{env_name}: unknown character {ch!r} in env_args.layout at row {r}, col {c}; "
                                   f"allowed characters: {' '.join(allowed)}")
    missing = [str(k) for k in range(1, n_agents + 1) if str(k) not in agents]
    if missing:
        raise EnvArgsError(f"{env_name}: env_args.layout must place exactly n_agents = {n_agents} agents "
                           f"(digits 1..{n_agents}); missing digit(s) {', '.join(missing)}")
    order = sorted(range(len(prey_kind)), key=lambda k: prey_kind[k])  # prey ordered by kind, then row-major
    return Layout(walls=walls,
                  prey_pos=np.array([prey_pos[k] for k in order], dtype=np.int64).reshape(-1, 2),
                  prey_kind=np.array([prey_kind[k] for k in order], dtype=np.int64),
                  agent_pos=np.array([agents[str(k)] for k in range(1, n_agents + 1)], dtype=np.int64))


def _fill_rows(seed: np.ndarray, free: np.ndarray, width: int) -> np.ndarray:
    """Spread ``seed`` bits along each row bitboard through runs of ``free`` bits, both
    ways (occluded fill: log2(width) shift steps per direction)."""
    filled = seed
    for toward_high in (True, False):
        gen, pro, shift = seed, free, 1
        while shift < width:
            s = np.uint64(shift)
            gen = gen | (pro & ((gen << s) if toward_high else (gen >> s)))
            pro = pro & ((pro << s) if toward_high else (pro >> s))
            shift *= 2
        filled = filled | gen
    return filled


def _fill_columns(seed: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Spread ``seed`` bits of row bitboards [H,B] up and down through ``free`` cells
    (occluded fill over rows: log2(H) steps per direction)."""
    filled = seed
    for down in (True, False):
        gen, pro, shift = seed, free, 1
        while shift < len(seed):
            gen, pro = gen.copy(), pro.copy()
            if down:
                gen[shift:] |= pro[shift:] & gen[:-shift]
                pro[shift:] &= pro[:-shift]
                pro[:shift] = 0
            else:
                gen[:-shift] |= pro[:-shift] & gen[shift:]
                pro[:-shift] &= pro[shift:]
                pro[-shift:] = 0
            shift *= 2
        filled = filled | gen
    return filled


def free_cells_connected(walls: np.ndarray) -> np.ndarray:
    """For walls bool[B,H,W], whether all free cells of each env form one 4-connected region
    (rows as uint64 bitboards, so the shorter grid side must be at most 64)."""
    if walls.shape[2] > 64:
        walls = walls.swapaxes(1, 2)
    batch, height, width = walls.shape
    if width > 64:
        raise EnvArgsError(f"random walls need a grid side of at most 64 cells, got {height}x{width}; "
                           f"use a layout or n_walls = 0")
    bits = np.uint64(1) << np.arange(width, dtype=np.uint64)
    free = np.ascontiguousarray(((~walls) * bits).sum(axis=2, dtype=np.uint64).T)  # [H, B]
    first = (free != 0).argmax(axis=0)
    row = free[first, np.arange(batch)]
    reach = np.zeros_like(free)
    reach[first, np.arange(batch)] = row & (~row + np.uint64(1))  # lowest free cell of the first free row
    while True:
        grown = _fill_columns(_fill_rows(reach, free, width), free)
        if np.array_equal(grown, reach):
            return (reach == free).all(axis=0)
        reach = grown


@functools.lru_cache(maxsize=None)
def _placements(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every placement of every wall piece on a height x width grid: flat cells [n, 4]
    (3-cell pieces repeat a cell), and per piece its first row and number of rows."""
    cells, first, count = [], [], []
    for offsets, (h, w) in zip(_PIECE_OFFSETS, _PIECE_EXTENT):
        first.append(len(cells))
        anchors = [(r, c) for r in range(height - h + 1) for c in range(width - w + 1)]
        cells.extend((offsets[:, 0] + r) * width + offsets[:, 1] + c for r, c in anchors)
        count.append(len(anchors))
    return np.array(cells, dtype=np.int64).reshape(-1, 4), np.array(first), np.array(count)


def random_walls(rngs: Sequence[np.random.Generator], height: int, width: int,
                 n_walls: int, n_free_needed: int) -> np.ndarray:
    """Draw ``n_walls`` non-overlapping pieces per env, retrying an env until its free cells
    are connected and at least ``n_free_needed``. Each env only consumes its own RNG.

    A piece is drawn as kind (uniform), orientation (uniform), then position (uniform among
    those inside the grid). Each round draws ``WALL_TRIES_PER_ROUND`` tries per env (the
    first valid one is kept). A try places its pieces one by one; piece p is the first of
    ``WALL_CANDIDATES`` drawn candidates that fits and does not overlap earlier pieces."""
    walls = np.zeros((len(rngs), height, width), dtype=bool)
    table, first, count = _placements(height, width)
    pending = np.arange(len(rngs))
    for _ in range(MAX_WALL_ROUNDS):
        if n_walls == 0 or len(pending) == 0:
            return walls
        u = np.stack([rngs[b].random((WALL_TRIES_PER_ROUND, n_walls, WALL_CANDIDATES, 2), dtype=np.float32)
                      for b in pending]).reshape(-1, n_walls, WALL_CANDIDATES, 2)  # [tries, piece, candidate, 2]
        piece = _PIECE_DRAW[np.minimum((u[..., 0] * len(_PIECE_DRAW)).astype(np.int64), len(_PIECE_DRAW) - 1)]
        n_places = count[piece]
        fits = n_places > 0
        flat = table[first[piece] + np.minimum((u[..., 1] * n_places).astype(np.int64), np.maximum(n_places - 1, 0))]
        tries = np.arange(len(u))
        candidate = np.zeros((len(u), height * width), dtype=bool)
        ok = np.ones(len(u), dtype=bool)
        for p in range(n_walls):
            free = fits[:, p] & ~candidate[tries[:, None, None], flat[:, p]].any(axis=2)  # [tries, candidate]
            ok &= free.any(axis=1)
            chosen = flat[tries, p, free.argmax(axis=1)]
            candidate[tries[ok, None], chosen[ok]] = True
        candidate = candidate.reshape(len(pending), WALL_TRIES_PER_ROUND, height, width)
        ok = ok.reshape(len(pending), -1) & (height * width - candidate.sum(axis=(2, 3)) >= n_free_needed)
        ok[ok] = free_cells_connected(candidate[ok])
        done = ok.any(axis=1)
        walls[pending[done]] = candidate[done, ok[done].argmax(axis=1)]
        pending = pending[~done]
    raise EnvArgsError(f"could not place {n_walls} wall pieces on a {height}x{width} grid with all free cells "
                       f"connected and {n_free_needed} free cells after {MAX_WALL_ROUNDS} rounds; use fewer walls")


def random_cells(rngs: Sequence[np.random.Generator], walls: np.ndarray, n: int) -> np.ndarray:
    """Pick ``n`` distinct free cells per env uniformly at random: int64[B, n, 2]."""
    _, height, width = walls.shape
    keys = np.stack([rng.random(height * width) for rng in rngs])
    keys[walls.reshape(len(rngs), -1)] = 2.0
    flat = np.argsort(keys, axis=1, kind="stable")[:, :n]
    return np.stack([flat // width, flat % width], axis=-1)


class GridCore:
    """Batched grid game: B envs, N agents, K static prey, numpy arrays (see ARCHITECTURE.md).

    Subclasses set ``name``, ``action_names``, ``prey_chars`` (layout char -> prey kind),
    ``prey_kind_names``, ``interact_kind`` (action -> prey kind it needs on the agent's
    cell, -1 for moves/STAY), ``defaults`` and implement ``_prey_counts`` and ``_resolve``.
    """

    name: str
    action_names: tuple[str, ...]
    prey_chars: dict[str, int]
    prey_kind_names: tuple[str, ...]
    interact_kind: np.ndarray
    defaults: dict[str, Any]

    def __init__(self, batch_size: int = 1, **env_args: Any) -> None:
        if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
            raise EnvArgsError(f"{self.name}: batch_size = {batch_size!r} is invalid: expected an int >= 1")
        self.args = validate_env_args(self.name, env_args, self.defaults)
        self.n_agents = self.args["n_agents"]
        self.n_actions = len(self.action_names)
        self.episode_limit = self.args["episode_limit"]
        self.obs_radius = self.args["obs_radius"]
        self.layout: Layout | None = None
        if self.args["layout"] is not None:
            self.layout = parse_layout(self.name, self.args["layout"], self.prey_chars, self.n_agents)
            self.height, self.width = self.layout.walls.shape
            self.n_prey = len(self.layout.prey_kind)
            if self.n_prey == 0:
                raise EnvArgsError(f"{self.name}: env_args.layout places no prey "
                                   f"(use {', '.join(repr(c) for c in self.prey_chars)})")
            self.prey_kind_init = self.layout.prey_kind
        else:
            self.height, self.width = self.args["grid_size"]
            counts = self._prey_counts()
            self.n_prey = int(sum(counts))
            if self.n_prey == 0:
                raise EnvArgsError(f"{self.name}: env_args asks for no prey; at least one is needed")
            needed = self.n_prey + self.n_agents + 4 * self.args["n_walls"]
            if self.height * self.width < needed:
                raise EnvArgsError(
                    f"{self.name}: grid {self.height}x{self.width} is too small for {self.n_agents} agents, "
                    f"{self.n_prey} prey and {self.args['n_walls']} wall pieces (up to 4 cells each): "
                    f"needs at least {needed} cells")
            self.prey_kind_init = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
        n_channels = self.n_agents + 1 + len(self.prey_kind_names)
        self.state_shape = (n_channels, self.height, self.width)
        side = None if self.obs_radius is None else 2 * self.obs_radius + 1
        self.obs_shape = self.state_shape if side is None else (n_channels, side, side)
        # observer i's channel c shows state channel ego[i, c]: agents in cyclic order from i
        ego = np.tile(np.arange(n_channels), (self.n_agents, 1))
        ego[:, :self.n_agents] = (np.arange(self.n_agents)[:, None] + np.arange(self.n_agents)) % self.n_agents
        self._ego = ego
        self._deltas = np.zeros((self.n_actions, 2), dtype=np.int64)
        self._deltas[:len(MOVE_DELTAS)] = MOVE_DELTAS
        # _avail's masks: all actions / no interaction (its prey was captured) / only STAY (twice)
        self._avail_masks = np.zeros((4, self.n_actions), dtype=bool)
        self._avail_masks[0] = True
        self._avail_masks[1, :STAY + 1] = True
        self._avail_masks[:, STAY] = True
        seed = self.args["seed"]
        self._rng: list[np.random.Generator] | None = [
            np.random.default_rng(None if seed is None else seed + b) for b in range(batch_size)]
        self._rng_states: list[dict] | None = None
        self._allocate(batch_size)
        self._build_tables()
        self._started = False

    @property
    def rng(self) -> list[np.random.Generator]:
        """The per-env seeded generators (built lazily after ``set_state``, which only
        stores their states, so that cloning many envs for MCTS stays cheap)."""
        if self._rng is None:
            self._rng = [_generator(state) for state in self._rng_states]
            self._rng_states = None
        return self._rng

    def _prey_counts(self) -> list[int]:
        """Number of prey of each kind for random generation."""
        raise NotImplementedError

    def _resolve(self, prey_row: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Given the prey each agent interacts with as a row of the flattened [B*K] prey
        arrays (or -1) [B,N] and the number of interacting agents per prey [B*K], return
        (rewards float32[B,N], captured bool[B,K], leaving bool[B,N])."""
        raise NotImplementedError

    def _allocate(self, batch_size: int) -> None:
        self.batch_size = batch_size
        n, k = self.n_agents, self.n_prey
        self.walls = np.zeros((batch_size, self.height, self.width), dtype=bool)
        self.agent_pos = np.zeros((batch_size, n, 2), dtype=np.int64)
        self.alive = np.zeros((batch_size, n), dtype=bool)
        self.prey_pos = np.zeros((batch_size, k, 2), dtype=np.int64)
        self.prey_kind = np.tile(self.prey_kind_init, (batch_size, 1))
        self.prey_alive = np.zeros((batch_size, k), dtype=bool)
        self.t = np.zeros(batch_size, dtype=np.int64)
        self.terminated = np.zeros(batch_size, dtype=bool)
        self.truncated = np.zeros(batch_size, dtype=bool)
        self.done = np.ones(batch_size, dtype=bool)

    # ------------------------------------------------------------------ episodes
    def reset(self, seeds: Sequence[int] | np.ndarray | None = None) -> None:
        """Start a new episode in every env. ``seeds`` (length B) reseeds each env's RNG;
        None continues each env's generator (first seeded with ``env_args.seed + index``)."""
        if seeds is not None:
            seeds = np.asarray(seeds)
            if seeds.shape != (self.batch_size,) or not np.issubdtype(seeds.dtype, np.integer) or (seeds < 0).any():
                raise ValueError(f"{self.name}: reset(seeds) needs {self.batch_size} non-negative ints "
                                 f"(one per env), got {seeds.tolist()!r}")
            self._rng = [np.random.default_rng(int(s)) for s in seeds]
        if self.layout is not None:
            self.walls[:] = self.layout.walls
            self.prey_pos[:] = self.layout.prey_pos
            self.agent_pos[:] = self.layout.agent_pos
        else:
            self.walls[:] = random_walls(self.rng, self.height, self.width, self.args["n_walls"],
                                         self.n_prey + self.n_agents)
            cells = random_cells(self.rng, self.walls, self.n_prey + self.n_agents)
            self.prey_pos[:] = cells[:, :self.n_prey]
            self.agent_pos[:] = cells[:, self.n_prey:]
        self.prey_kind[:] = self.prey_kind_init
        self.alive[:] = True
        self.prey_alive[:] = True
        self.t[:] = 0
        self.terminated[:] = False
        self.truncated[:] = False
        self.done[:] = False
        self._build_tables()
        self._started = True

    def restart(self, envs: np.ndarray, seeds: np.ndarray) -> None:
        """Start new episodes in envs ``envs`` only, seeded with ``seeds`` (one each); the other
        envs keep their state. Each restarted env gets the episode ``reset`` with that seed would
        give it (its layout comes from its own generator), so an episode depends on its seed alone."""
        envs, seeds = np.asarray(envs), np.asarray(seeds)
        if (envs.ndim != 1 or not np.issubdtype(envs.dtype, np.integer) or len(np.unique(envs)) != len(envs)
                or ((envs < 0) | (envs >= self.batch_size)).any() or seeds.shape != envs.shape):
            raise ValueError(f"{self.name}: restart(envs, seeds) needs distinct env indices in 0..{self.batch_size - 1} "
                             f"and one seed each, got envs {envs.tolist()!r}, seeds {seeds.tolist()!r}")
        if not len(envs):
            return
        fresh = type(self)(len(envs), **self.args)
        fresh.reset(seeds)
        generators = self.rng
        for f in _ARRAY_FIELDS:
            getattr(self, f)[envs] = getattr(fresh, f)
        for j, env in enumerate(envs.tolist()):
            generators[env] = fresh.rng[j]
        self.done = self.terminated | self.truncated
        self._build_tables()
        self._started = True

    def suspend(self, envs: np.ndarray) -> None:
        """Hold envs ``envs`` (bool[B] or indices) until the next ``step``: they count as done, so
        they offer only STAY, and that step does not advance them; it ends the hold. Lets a caller
        step some envs of the batch while the others wait (partial stepping)."""
        self.done = self.done.copy()
        self.done[envs] = True

    def _build_tables(self) -> None:
        """Build the static lookup tables (``CoreTables``) of the current layout: availability
        from the walls, prey cells and kinds from every prey of the episode, live or not (which
        prey still live is read from ``prey_alive`` when used). Called by reset, and by set_state
        for snapshots without tables; always new arrays, as snapshots share the old ones."""
        batch, height, width = self.walls.shape
        blocked = np.ones((batch, height + 2, width + 2), dtype=bool)  # walls with a wall border
        blocked[:, 1:-1, 1:-1] = self.walls
        table = np.zeros((batch, height, width, self.n_actions), dtype=bool)
        for a, (dr, dc) in enumerate(MOVE_DELTAS[:STAY]):
            table[..., a] = ~blocked[:, 1 + dr:1 + dr + height, 1 + dc:1 + dc + width]
        table[..., STAY] = True
        table = table.reshape(batch, height * width, self.n_actions)
        cell_prey = np.full((batch, height * width), -1, dtype=np.int64)
        b, k = np.repeat(np.arange(batch), self.n_prey), np.tile(np.arange(self.n_prey), batch)
        cells = self.prey_pos[b, k, 0] * width + self.prey_pos[b, k, 1]
        cell_prey[b, cells] = k
        table[b, cells, STAY + 1:] = self.prey_kind[b, k, None] == self.interact_kind[STAY + 1:]
        walls = self.walls.reshape(batch, height * width)
        count = walls.sum(axis=1)
        first = np.argsort(~walls, axis=1, kind="stable")[:, :count.max(initial=0)]  # wall cells first, in order
        wall_cells = np.where(np.arange(first.shape[1]) < count[:, None], first, -1)
        self._use_tables(CoreTables(table, cell_prey, wall_cells))

    def _use_tables(self, tables: CoreTables) -> None:
        """Adopt ``tables`` (flat per-cell views, and per-env index offsets for this batch size and
        the prey kinds, which are constant within an episode)."""
        self._tables = tables
        batch = len(tables.cell_prey)
        self._cell_avail = tables.cell_avail.reshape(-1, self.n_actions)
        self._cell_prey = tables.cell_prey.reshape(-1)
        self._env_index = np.arange(batch)[:, None]
        self._prey_base = self._env_index * self.n_prey
        planes = self._env_index * self.state_shape[0]  # first row (of the flat state grid) of each plane
        self._agent_planes = (planes + np.arange(self.n_agents)) * self.height
        self._prey_planes = (planes + self.n_agents + 1 + self.prey_kind) * self.height

    def _agent_cells(self) -> np.ndarray:
        """Row of each agent's cell in the per-cell tables: int64[B,N]."""
        return (self._env_index * self.height + self.agent_pos[..., 0]) * self.width + self.agent_pos[..., 1]

    def _avail(self, cells: np.ndarray) -> np.ndarray:
        """Available actions bool[B,N,A] of agents on table rows ``cells``: the cell's actions,
        less interactions with a prey that was captured, only STAY for agents that left or whose
        env is done (row ``captured + 2 * inactive`` of ``_avail_masks``)."""
        prey = self._cell_prey[cells]
        captured = (prey >= 0) & ~self.prey_alive.ravel()[self._prey_base + prey]  # prey -1 reads a real entry
        inactive = ~self.alive | self.done[:, None]
        avail = self._cell_avail[cells]
        avail &= self._avail_masks[captured.view(np.uint8) + 2 * inactive.view(np.uint8)]
        return avail

    def _chosen_available(self, cells: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """bool[B,N]: is each agent's chosen action available? (``_avail`` for the chosen actions
        only, without building the [B,N,A] mask: the validation in ``step`` stays cheap.)"""
        allowed = self._cell_avail.ravel()[cells * self.n_actions + actions]
        prey = self._cell_prey[cells]
        live = (prey >= 0) & self.prey_alive.ravel()[self._prey_base + prey]  # prey -1 reads a real entry
        inactive = ~self.alive | self.done[:, None]
        return np.where(inactive, actions == STAY, allowed & ((actions <= STAY) | live))

    def avail_actions(self) -> np.ndarray:
        """Available actions bool[B,N,A]; agents that left (or of done envs) have only STAY."""
        return self._avail(self._agent_cells())

    def step(self, actions: np.ndarray, check: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance every env that is not done by one step with ``actions`` int[B,N].

        Returns (rewards float32[B,N], terminated bool[B], truncated bool[B]).
        Raises ValueError if any action is unavailable (never replaces it); ``check=False`` skips
        that check, for callers whose actions are available by construction (the MCTS).
        """
        if not self._started:
            raise RuntimeError(f"{self.name}: call reset() before step()")
        actions = np.asarray(actions) if isinstance(actions, np.ndarray) else actions
        shape = (self.batch_size, self.n_agents)
        if not isinstance(actions, np.ndarray) or actions.shape != shape or actions.dtype.kind not in "iu":
            actions = check_action_array(actions, shape, self.n_actions, self.t, f"{self.name}.step")
        cells = self._agent_cells()
        if check and (((actions < 0) | (actions >= self.n_actions)).any()
                      or not self._chosen_available(cells, actions).all()):
            self._raise_unavailable(actions, self._avail(cells))
        active = ~self.done
        batch, k = self.batch_size, self.n_prey
        target = np.where(self.interact_kind[actions] >= 0, self._cell_prey[cells], -1)
        prey_row = np.where(target >= 0, self._prey_base + target, -1)  # available: the prey lives
        counts = np.bincount(prey_row[prey_row >= 0], minlength=batch * k)
        rewards, captured, leaving = self._resolve(prey_row, counts)
        self.prey_alive &= ~captured
        self.agent_pos += self._deltas[actions]
        self.alive &= ~leaving
        self.t += active
        ended = active & (~self.alive.any(axis=1) | ~self.prey_alive.any(axis=1))
        self.terminated |= ended
        self.truncated |= active & ~ended & (self.t >= self.episode_limit)
        self.done = self.terminated | self.truncated
        return rewards, self.terminated.copy(), self.truncated.copy()

    def _raise_unavailable(self, actions: np.ndarray, avail: np.ndarray) -> None:
        in_range = (actions >= 0) & (actions < self.n_actions)
        legal = in_range & np.take_along_axis(avail, np.where(in_range, actions, 0)[..., None], 2)[..., 0]
        b, i = (int(x) for x in np.argwhere(~legal)[0])
        a = int(actions[b, i])
        name = self.action_names[a] if 0 <= a < self.n_actions else "out of range"
        allowed = [f"{self.action_names[x]} ({x})" for x in np.flatnonzero(avail[b, i])]
        why = " (agent has left the game)" if not self.alive[b, i] else \
            " (episode is over)" if self.done[b] else ""
        raise ValueError(f"{self.name}: env {b}, agent_{i} at step t={int(self.t[b])}: action {name} ({a}) is "
                         f"unavailable{why}; available: {', '.join(allowed)}")

    # ------------------------------------------------------------- observations
    def _grid(self, envs: np.ndarray | None = None) -> np.ndarray:
        """The state grid of envs ``envs`` (default all) as uint8[E,C,H,W] (0/1); converted to
        float32 as late as possible because moving bytes is what observations cost."""
        n, (channels, height, width) = self.n_agents, self.state_shape
        walls, alive, agent_pos = self.walls, self.alive, self.agent_pos
        prey_alive, prey_pos = self.prey_alive, self.prey_pos
        agent_planes, prey_planes = self._agent_planes, self._prey_planes
        if envs is not None:
            envs = np.asarray(envs, dtype=np.int64)
            walls, alive, agent_pos = walls[envs], alive[envs], agent_pos[envs]
            prey_alive, prey_pos = prey_alive[envs], prey_pos[envs]
            shift = (np.arange(len(envs)) - envs)[:, None] * channels * height  # row e of the output holds env envs[e]
            agent_planes, prey_planes = agent_planes[envs] + shift, prey_planes[envs] + shift
        grid = np.zeros((len(walls), channels, height, width), dtype=np.uint8)
        grid[:, n] = walls
        flat = grid.reshape(-1)
        flat[((agent_planes + agent_pos[..., 0]) * width + agent_pos[..., 1])[alive]] = 1
        flat[((prey_planes + prey_pos[..., 0]) * width + prey_pos[..., 1])[prey_alive]] = 1
        return grid

    def state_observation(self, envs: np.ndarray | None = None) -> np.ndarray:
        """Global grid float32[E,C,H,W] of envs ``envs`` (default all): agents in global order, walls, prey kinds."""
        return self._grid(envs).astype(np.float32)

    def observations(self, envs: np.ndarray | None = None, slots: np.ndarray | None = None) -> np.ndarray:
        """Per-agent observations float32[E,N,C,h,w] of envs ``envs`` (default all), agents ego-first
        (own position first); with ``slots`` (one per row of ``envs``) only that agent's: float32[E,C,h,w]."""
        grid = self._grid(envs)
        if self.obs_radius is None and slots is None:
            return np.take(grid, self._ego, axis=1).astype(np.float32)
        rows = np.arange(self.batch_size) if envs is None else np.asarray(envs, dtype=np.int64)
        if slots is None:
            ego, pos = self._ego[None], self.agent_pos[rows]                          # [1,N,C], [E,N,2]
        else:
            slots = np.asarray(slots, dtype=np.int64)
            ego, pos = self._ego[slots][:, None], self.agent_pos[rows, slots][:, None]  # [E,1,C], [E,1,2]
        e = np.arange(len(rows))[:, None, None]
        if self.obs_radius is None:
            view = grid[e, ego]
        else:
            r, n = self.obs_radius, self.n_agents
            padded = np.zeros((len(rows), self.state_shape[0], self.height + 2 * r, self.width + 2 * r),
                              dtype=np.uint8)
            padded[:, n] = 1  # outside the grid reads as wall
            padded[:, :, r:r + self.height, r:r + self.width] = grid
            span = np.arange(2 * r + 1)
            top = pos[:, :, 0, None] + span  # padded coords of rows centred on the agent
            left = pos[:, :, 1, None] + span
            view = padded[e[..., None, None], ego[..., None, None], top[:, :, None, :, None], left[:, :, None, None, :]]
        return (view if slots is None else view[:, 0]).astype(np.float32)

    def grid_ones(self, envs: np.ndarray, slots: np.ndarray | None = None) -> GridOnes:
        """``state_observation(envs)`` (or with ``slots``, the full-view ``observations(envs, slots)``)
        as ``GridOnes``, without building the grids."""
        if slots is not None and self.obs_radius is not None:
            raise ValueError(f"{self.name}: grid_ones has no egocentric (obs_radius = {self.obs_radius}) observations")
        envs = np.asarray(envs, dtype=np.int64)
        n, (channels, height, width) = self.n_agents, self.state_shape
        plane, size = height * width, channels * height * width
        rows = functools.partial(np.take, indices=envs, axis=0)  # faster than [envs] on these small arrays
        agent_pos, prey_pos = rows(self.agent_pos), rows(self.prey_pos)
        agent_channel = np.arange(n) if slots is None else (np.arange(n) - np.asarray(slots)[:, None]) % n  # ego order
        prey_channel = n + 1 + rows(self.prey_kind)
        walls = rows(self._tables.wall_cells)
        k = n + self.n_prey
        cells = np.empty((len(envs), k + walls.shape[1]), dtype=np.int64)
        cells[:, :n] = agent_channel * plane + agent_pos[..., 0] * width + agent_pos[..., 1]
        cells[:, n:k] = prey_channel * plane + prey_pos[..., 0] * width + prey_pos[..., 1]
        cells[:, :n][~rows(self.alive)] = size
        cells[:, n:k][~rows(self.prey_alive)] = size
        cells[:, k:] = np.where(walls >= 0, n * plane + walls, size)  # walls: channel n
        return GridOnes(cells, self.state_shape)

    def time(self) -> np.ndarray:
        """Normalised time t / episode_limit: float32[B]."""
        return (self.t / self.episode_limit).astype(np.float32)

    # ------------------------------------------------------------------ copies
    def get_state(self, index: Sequence[int] | np.ndarray | None = None, copy: bool = True) -> CoreState:
        """Deep copy of all simulator arrays and RNG states; ``index`` selects/repeats envs.
        (RNG state dicts and lookup tables are never mutated, so snapshots and repeats may share them.)
        ``copy=False`` (all envs only) returns the core's own arrays, valid until it next changes
        (for a caller that copies them at once, e.g. into the MCTS node pool)."""
        states = self._rng_states if self._rng is None else [g.bit_generator.state for g in self._rng]
        if index is None:
            return CoreState(**{f: getattr(self, f).copy() if copy else getattr(self, f) for f in _ARRAY_FIELDS},
                             rng_states=list(states), tables=self._tables)
        if not copy:
            raise ValueError(f"{self.name}: get_state(index, copy=False): selected envs are always copies")
        index = np.asarray(index, dtype=np.int64)
        return CoreState(**{f: getattr(self, f)[index] for f in _ARRAY_FIELDS},
                         rng_states=[states[j] for j in index], tables=self._tables.select(index))

    def set_state(self, state: CoreState, copy: bool = True) -> None:
        """Restore a snapshot (copied, so it can be restored again; its never-mutated lookup
        tables are shared): array copies only, unless the snapshot has no tables. The core takes
        the snapshot's batch size. ``copy=False`` adopts the snapshot's arrays instead (for a
        snapshot used once, e.g. freshly gathered rows): the core then mutates them."""
        expected = {"walls": (self.height, self.width), "agent_pos": (self.n_agents, 2), "prey_pos": (self.n_prey, 2)}
        for name, shape in expected.items():
            if getattr(state, name).shape[1:] != shape:
                raise ValueError(f"{self.name}: set_state got a snapshot whose {name} has shape "
                                 f"{getattr(state, name).shape[1:]} per env, this core needs {shape}")
        self.batch_size = state.batch_size
        for f in _ARRAY_FIELDS:
            setattr(self, f, getattr(state, f).copy() if copy else getattr(state, f))
        self.done = self.terminated | self.truncated
        self._rng, self._rng_states = None, list(state.rng_states)
        if state.tables is None:
            self._build_tables()
        else:
            self._use_tables(state.tables)
        self._started = True


_SEED_SEQUENCE = np.random.SeedSequence(0)


def _generator(state: dict) -> np.random.Generator:
    """A generator restored from a ``bit_generator.state`` dict (cheap: no OS entropy)."""
    bit_gen = getattr(np.random, state["bit_generator"])(_SEED_SEQUENCE)
    bit_gen.state = state
    return np.random.Generator(bit_gen)
