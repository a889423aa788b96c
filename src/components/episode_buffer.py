"""EpisodeBatch and ReplayBuffer: the episode storage every learner trains from.

PyMARL semantics (scheme, groups, preprocess, `filled`, `update`, slicing), with its known
pitfalls fixed: writes are validated (unknown keys, shapes that only "happen" to have the
right number of elements, non-contiguous time indices), an update is all-or-nothing,
`max_t_filled()` returns a Python int (0 for an empty batch), `to()` returns self, and
inserting into the ring buffer never leaves stale data of an older episode behind.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np
import torch

FILLED = "filled"
_FILLED_INFO = {"vshape": (1,), "dtype": torch.long, "episode_const": False}
_SCHEME_FIELDS = ("vshape", "group", "dtype", "episode_const")

Index = Union[int, slice, Sequence[int], np.ndarray, torch.Tensor]


class SchemeKeyError(KeyError, ValueError):
    """A key that is not in the batch's scheme (a KeyError and a ValueError)."""

    def __str__(self) -> str:
        return str(self.args[0])


class BatchData:
    """Storage of an EpisodeBatch: `transition_data` (`[B, T, ...]`) and `episode_data` (`[B, ...]`)."""

    def __init__(
        self,
        transition_data: dict[str, torch.Tensor] | None = None,
        episode_data: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.transition_data: dict[str, torch.Tensor] = dict(transition_data or {})
        self.episode_data: dict[str, torch.Tensor] = dict(episode_data or {})


def _is_int(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, torch.Tensor):
        return x.dim() == 0 and not x.is_floating_point() and x.dtype != torch.bool
    return isinstance(x, (numbers.Integral, np.integer))


def _normalise_int(i: Any, size: int, what: str) -> int:
    i = int(i)
    if not -size <= i < size:
        raise IndexError(f"{what} index {i} is out of range for size {size}")
    return i % size


def _index_tensor(index: Any, size: int, what: str) -> torch.Tensor:
    """1-D int64 CPU tensor of non-negative indices from a list, array or tensor (int or bool)."""
    try:
        t = torch.as_tensor(np.asarray(index) if isinstance(index, (list, tuple)) else index).cpu()
    except (TypeError, ValueError, RuntimeError) as err:
        raise IndexError(f"unsupported {what} index {index!r}") from err
    if t.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    if t.dim() != 1 or t.is_floating_point() or t.is_complex():
        raise IndexError(f"{what} index must be an int, a slice, or 1-D integers or booleans, got {index!r}")
    if t.dtype == torch.bool:
        if t.numel() != size:
            raise IndexError(f"boolean {what} index has length {t.numel()}, expected {size}")
        return t.nonzero().squeeze(1)
    t = t.long()
    if t.numel() and (int(t.min()) < -size or int(t.max()) >= size):
        raise IndexError(f"{what} index out of range for size {size}: {index!r}")
    return torch.where(t < 0, t + size, t)


def _batch_index(bs: Index, size: int, unique: bool = False) -> tuple[slice | torch.Tensor, int]:
    """Batch index usable by torch (a slice or an index tensor) and the number of episodes it selects."""
    if bs.__class__ is slice and bs.step is None and bs.start is None and bs.stop is None:
        return bs, size
    if _is_int(bs):
        i = _normalise_int(bs, size, "batch")
        return slice(i, i + 1), 1
    if isinstance(bs, slice):
        if bs.step is not None and bs.step < 1:
            raise IndexError(f"batch slice step must be positive, got {bs.step}")
        return bs, len(range(*bs.indices(size)))
    idx = _index_tensor(bs, size, "batch")
    if unique and idx.numel() != torch.unique(idx).numel():
        raise IndexError(f"batch index has duplicates: {idx.tolist()}")
    return idx, idx.numel()


def _time_index(ts: Index, size: int) -> tuple[slice, int]:
    """Time index as a contiguous slice and its length; non-contiguous indices raise."""
    if ts.__class__ is int and 0 <= ts < size:
        return slice(ts, ts + 1), 1
    if _is_int(ts):
        t = _normalise_int(ts, size, "time")
        return slice(t, t + 1), 1
    if isinstance(ts, slice):
        if ts.step not in (None, 1):
            raise IndexError(f"time indexing must be contiguous: slice step {ts.step} is not allowed")
        start, stop, _ = ts.indices(size)
        stop = max(start, stop)
        return slice(start, stop), stop - start
    idx = _index_tensor(ts, size, "time")
    if idx.numel() == 0:
        return slice(0, 0), 0
    if idx.numel() > 1 and not bool((idx[1:] - idx[:-1] == 1).all()):
        raise IndexError(f"time indexing must be contiguous, got {idx.tolist()}")
    start = int(idx[0])
    return slice(start, start + idx.numel()), idx.numel()


def _as_tensor(key: str, value: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Convert a tensor, numpy array, scalar or (nested) list to a tensor of `dtype` on `device`."""
    if isinstance(value, torch.Tensor):
        value = value.detach()  # the buffer never joins an autograd graph
        if value.dtype == dtype and value.device == device:
            return value
        return value.to(device=device, dtype=dtype)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        try:
            return torch.stack([v.detach().to(device=device, dtype=dtype) for v in value])
        except RuntimeError as err:
            raise ValueError(f"update: cannot stack the tensors given for '{key}': {err}") from err
    try:
        arr = np.asarray(value)
    except ValueError as err:
        raise ValueError(f"update: the value for '{key}' is ragged or not numeric: {err}") from err
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise ValueError(f"update: the value for '{key}' is not numeric (numpy dtype {arr.dtype})")
    if not arr.flags.writeable or any(s < 0 for s in arr.strides):
        arr = np.array(arr)
    return torch.from_numpy(arr).to(device=device, dtype=dtype)


def _normalise_vshape(key: str, vshape: Any) -> tuple[int, ...]:
    shape = (vshape,) if _is_int(vshape) else vshape
    if not isinstance(shape, (tuple, list, torch.Size)) or not shape or not all(
        _is_int(d) and int(d) >= 1 for d in shape
    ):
        raise ValueError(f"scheme['{key}']: vshape must be a positive int or a tuple of them, got {vshape!r}")
    return tuple(int(d) for d in shape)


def _normalise_entry(key: str, info: Any, groups: Mapping[str, int]) -> dict[str, Any]:
    if not isinstance(key, str):
        raise ValueError(f"scheme keys must be strings, got {key!r}")
    if not isinstance(info, Mapping) or "vshape" not in info:
        raise ValueError(f"scheme['{key}'] must be a dict with at least 'vshape', got {info!r}")
    unknown = sorted(set(info) - set(_SCHEME_FIELDS))
    if unknown:
        raise ValueError(f"scheme['{key}']: unknown entries {unknown}; allowed: {list(_SCHEME_FIELDS)}")
    entry: dict[str, Any] = {"vshape": _normalise_vshape(key, info["vshape"])}
    dtype = info.get("dtype", torch.float32)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"scheme['{key}']: dtype must be a torch.dtype, got {dtype!r}")
    entry["dtype"] = dtype
    entry["episode_const"] = bool(info.get("episode_const", False))
    group = info.get("group")
    if group is not None:
        if group not in groups:
            raise ValueError(f"scheme['{key}']: group '{group}' is not in groups {sorted(groups)}")
        entry["group"] = group
    return entry


def _build_scheme(
    scheme: Mapping[str, Any], groups: Mapping[str, int], preprocess: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Normalised scheme with the preprocess-derived fields and `filled` added.

    A scheme that already holds `filled` or a derived field (e.g. `batch.scheme` passed back
    in) is accepted when those entries agree with what would be added.
    """
    if not isinstance(scheme, Mapping):
        raise ValueError(f"scheme must be a dict, got {type(scheme).__name__}")
    out = {key: _normalise_entry(key, info, groups) for key, info in scheme.items()}
    for src, spec in (preprocess or {}).items():
        if src not in out:
            raise ValueError(f"preprocess source '{src}' is not in the scheme; known keys: {sorted(out)}")
        if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str)):
            raise ValueError(f"preprocess['{src}'] must be (new_key, [transforms]), got {spec!r}")
        new_key, transforms = spec
        vshape, dtype = out[src]["vshape"], out[src]["dtype"]
        for tr in transforms:
            vshape, dtype = tr.infer_output_info(vshape, dtype)
        derived = {"vshape": _normalise_vshape(new_key, vshape), "dtype": dtype,
                   "episode_const": out[src]["episode_const"]}
        if "group" in out[src]:
            derived["group"] = out[src]["group"]
        if new_key in out and out[new_key] != derived:
            raise ValueError(
                f"scheme['{new_key}'] = {out[new_key]} conflicts with the field preprocess derives "
                f"from '{src}': {derived}"
            )
        out[new_key] = derived
    if FILLED in out and out[FILLED] != _FILLED_INFO:
        raise ValueError(f"'{FILLED}' is reserved ({_FILLED_INFO}); the scheme defines it as {out[FILLED]}")
    out[FILLED] = dict(_FILLED_INFO)
    return out


class EpisodeBatch:
    """A batch of `batch_size` episodes of up to `max_seq_length` steps, stored as tensors.

    Transition fields are `[B, T, (n_group,) *vshape]`, episode-constant ones
    `[B, (n_group,) *vshape]`. The reserved `filled` (`[B, T, 1]`, long) marks written steps.
    Index by key (`batch["obs"]` -> tensor), by keys (`batch[("obs", "reward")]` -> batch
    sharing the tensors, `filled` always kept), or by batch/time (`batch[bs, ts]` -> views for
    ints and slices, copies for index lists/tensors).
    """

    def __init__(
        self,
        scheme: Mapping[str, Any],
        groups: Mapping[str, int],
        batch_size: int,
        max_seq_length: int,
        data: BatchData | None = None,
        preprocess: Mapping[str, tuple[str, Sequence[Any]]] | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        if not _is_int(batch_size) or int(batch_size) < 0:
            raise ValueError(f"batch_size must be a non-negative int, got {batch_size!r}")
        if not _is_int(max_seq_length) or int(max_seq_length) < 1:
            raise ValueError(f"max_seq_length must be a positive int, got {max_seq_length!r}")
        for name, size in groups.items():
            if not _is_int(size) or int(size) < 1:
                raise ValueError(f"groups['{name}'] must be a positive int, got {size!r}")
        self._groups = {name: int(size) for name, size in groups.items()}
        self._batch_size = int(batch_size)
        self._max_seq_length = int(max_seq_length)
        self._device = device
        self._preprocess = dict(preprocess or {})
        self._scheme = _build_scheme(scheme, self._groups, self._preprocess)
        self._derived = {new_key: src for src, (new_key, _) in self._preprocess.items()}
        self._shapes = {key: self._compute_field_shape(key) for key in self._scheme}
        if data is None:
            self.data = self._allocate()
        else:
            self._check_data(data)
            self.data = data
        self._torch_device = self.data.transition_data[FILLED].device

    # ----------------------------------------------------------------- construction
    def _field_shape(self, key: str) -> tuple[int, ...]:
        return self._shapes[key]

    def _compute_field_shape(self, key: str) -> tuple[int, ...]:
        info = self._scheme[key]
        group = (self._groups[info["group"]],) if "group" in info else ()
        return (*group, *info["vshape"])

    def _full_shape(self, key: str) -> tuple[int, ...]:
        lead = (self._batch_size,) if self._scheme[key]["episode_const"] else (
            self._batch_size, self._max_seq_length)
        return (*lead, *self._field_shape(key))

    def _allocate(self) -> BatchData:
        data = BatchData()
        for key, info in self._scheme.items():
            store = data.episode_data if info["episode_const"] else data.transition_data
            store[key] = torch.zeros(self._full_shape(key), dtype=info["dtype"], device=self._device)
        return data

    def _check_data(self, data: BatchData) -> None:
        for key, info in self._scheme.items():
            store = data.episode_data if info["episode_const"] else data.transition_data
            if key not in store:
                raise ValueError(f"data lacks the scheme field '{key}'")
            if tuple(store[key].shape) != self._full_shape(key):
                raise ValueError(
                    f"data['{key}'] has shape {tuple(store[key].shape)}, expected {self._full_shape(key)}")
        extra = sorted((set(data.transition_data) | set(data.episode_data)) - set(self._scheme))
        if extra:
            raise ValueError(f"data holds fields that are not in the scheme: {extra}")

    # ----------------------------------------------------------------- properties
    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def max_seq_length(self) -> int:
        return self._max_seq_length

    @property
    def scheme(self) -> dict[str, dict[str, Any]]:
        """The normalised scheme (derived fields and `filled` included); a copy."""
        return {key: dict(info) for key, info in self._scheme.items()}

    @property
    def groups(self) -> dict[str, int]:
        return dict(self._groups)

    @property
    def device(self) -> torch.device | str:
        return self._device

    @property
    def preprocess(self) -> dict[str, tuple[str, Sequence[Any]]]:
        return dict(self._preprocess)

    def _unknown_key(self, key: Any, where: str) -> SchemeKeyError:
        return SchemeKeyError(f"{where}: unknown key {key!r}; known keys: {sorted(self._scheme)}")

    def __contains__(self, key: object) -> bool:
        return key in self._scheme

    # ----------------------------------------------------------------- writing
    def update(
        self,
        data: Mapping[str, Any],
        bs: Index = slice(None),
        ts: Index = slice(None),
        mark_filled: bool = True,
    ) -> None:
        """Write `data[key]` into each field at episodes `bs` and steps `ts` (all or nothing).

        Values may be tensors, numpy arrays or (nested) lists; they are cast to the field's
        dtype and reshaped to the target `[n_bs, n_ts, (n_group,) *vshape]` (`[n_bs, ...]` for
        episode-constant fields), which they must match up to size-1 dimensions. An int index
        keeps its dimension. With `mark_filled`, `filled` is set to 1 at (bs, ts) whenever a
        transition field is written. Preprocess-derived fields are recomputed from their source.
        """
        b_index, n_b = _batch_index(bs, self._batch_size, unique=True)
        t_index, n_t = _time_index(ts, self._max_seq_length)
        writes, writes_transition = self._prepare(data, n_b, n_t, "update")
        if mark_filled and writes_transition:
            self.data.transition_data[FILLED][b_index, t_index] = 1
        for key, tensor in writes:
            if self._scheme[key]["episode_const"]:
                self.data.episode_data[key][b_index] = tensor
            else:
                self.data.transition_data[key][b_index, t_index] = tensor

    def update_steps(self, data: Mapping[str, Any], bs: Index, ts: Index, mark_filled: bool = True) -> None:
        """Write ``data[key][i]`` of transition fields at episode ``bs[i]``, step ``ts[i]``: one step
        per episode, each at its own step (``update`` writes the same steps of every episode).
        Values are conformed to ``[n, (n_group,) *vshape]``; preprocess-derived fields follow."""
        b_index = _index_tensor(bs, self._batch_size, "batch")
        t_index = _index_tensor(ts, self._max_seq_length, "time")
        if b_index.shape != t_index.shape or b_index.numel() != torch.unique(b_index).numel():
            raise IndexError(f"update_steps needs one step per episode and distinct episodes, got bs "
                             f"{b_index.tolist()} and ts {t_index.tolist()}")
        constant = [key for key in data if key in self._scheme and self._scheme[key]["episode_const"]]
        if constant:
            raise ValueError(f"update_steps writes transition fields only; {constant} are episode-constant")
        writes, _ = self._prepare(data, b_index.numel(), 1, "update_steps")
        if mark_filled:
            self.data.transition_data[FILLED][b_index, t_index] = 1
        for key, tensor in writes:
            self.data.transition_data[key][b_index, t_index] = tensor[:, 0]

    def _prepare(self, data: Mapping[str, Any], n_b: int, n_t: int, where: str) -> tuple[list, bool]:
        """The tensors ``update`` writes, ``[(key, [n_b, n_t, ...] or [n_b, ...])]`` (derived fields
        recomputed from their source), and whether a transition field is among them."""
        if not isinstance(data, dict) and not isinstance(data, Mapping):
            raise TypeError(f"{where} expects a dict of field -> value, got {type(data).__name__}")
        writes: list[tuple[str, torch.Tensor]] = []
        writes_transition = False
        for key, value in data.items():
            info = self._scheme.get(key)
            if info is None:
                raise self._unknown_key(key, where)
            if key in self._derived:
                if self._derived[key] not in data:
                    raise ValueError(
                        f"{where}: '{key}' is derived from '{self._derived[key]}' by preprocess; "
                        f"write '{self._derived[key]}' instead")
                continue  # recomputed below from its source
            lead = (n_b,) if info["episode_const"] else (n_b, n_t)
            tensor = self._conform(key, _as_tensor(key, value, info["dtype"], self._torch_device),
                                   (*lead, *self._shapes[key]))
            writes.append((key, tensor))
            writes_transition |= not info["episode_const"]
            if key in self._preprocess:
                new_key, transforms = self._preprocess[key]
                derived = tensor
                for tr in transforms:
                    derived = tr.transform(derived)
                derived = derived.to(dtype=self._scheme[new_key]["dtype"])
                writes.append((new_key, self._conform(new_key, derived, (*lead, *self._shapes[new_key]))))
        return writes, writes_transition

    @staticmethod
    def _conform(key: str, tensor: torch.Tensor, target: tuple[int, ...]) -> torch.Tensor:
        """`tensor` reshaped to `target`; only size-1 dimensions may differ."""
        if tensor.shape == target:
            return tensor
        if tensor.numel() == 0 and 0 in target:
            return tensor.reshape(target)
        if [d for d in tensor.shape if d != 1] != [d for d in target if d != 1]:
            raise ValueError(
                f"update: cannot view the value for '{key}' as the target: got shape "
                f"{tuple(tensor.shape)}, expected {target} (only size-1 dimensions may differ)")
        return tensor.reshape(target)

    # ----------------------------------------------------------------- reading
    def __getitem__(self, item: Any) -> Union[torch.Tensor, "EpisodeBatch"]:
        if isinstance(item, str):
            if item in self.data.transition_data:
                return self.data.transition_data[item]
            if item in self.data.episode_data:
                return self.data.episode_data[item]
            raise self._unknown_key(item, "getitem")
        if isinstance(item, (tuple, list)) and item and all(isinstance(k, str) for k in item):
            return self._select_keys(list(item))
        if isinstance(item, tuple):
            if len(item) == 2:
                bs, ts = item
            elif len(item) == 1:
                bs, ts = item[0], slice(None)
            else:
                raise IndexError(f"index a batch with bs or (bs, ts), got {len(item)} indices")
        else:
            bs, ts = item, slice(None)
        b_index, n_b = _batch_index(bs, self._batch_size)
        t_index, n_t = _time_index(ts, self._max_seq_length)
        if n_t == 0:
            raise IndexError(f"time index {ts!r} selects no steps (max_seq_length {self._max_seq_length})")
        data = BatchData(
            {k: v[b_index, t_index] for k, v in self.data.transition_data.items()},
            {k: v[b_index] for k, v in self.data.episode_data.items()},
        )
        return EpisodeBatch(self._scheme, self._groups, n_b, n_t, data=data,
                            preprocess=self._preprocess, device=self._device)

    def _select_keys(self, keys: list[str]) -> "EpisodeBatch":
        for key in keys:
            if key not in self._scheme:
                raise self._unknown_key(key, "getitem")
        keep = set(keys) | {FILLED}
        scheme = {k: v for k, v in self._scheme.items() if k in keep}
        preprocess = {src: spec for src, spec in self._preprocess.items() if src in keep and spec[0] in keep}
        data = BatchData({k: v for k, v in self.data.transition_data.items() if k in keep},
                         {k: v for k, v in self.data.episode_data.items() if k in keep})
        return EpisodeBatch(scheme, self._groups, self._batch_size, self._max_seq_length,
                            data=data, preprocess=preprocess, device=self._device)

    @classmethod
    def cat(cls, batches: Sequence["EpisodeBatch"]) -> "EpisodeBatch":
        """One batch holding the episodes of ``batches`` in order (copies; same scheme and length)."""
        if not batches:
            raise ValueError("EpisodeBatch.cat needs at least one batch")
        first = batches[0]
        for other in batches[1:]:
            if other._scheme != first._scheme or other._max_seq_length != first._max_seq_length:
                raise ValueError("EpisodeBatch.cat: batches differ in scheme or max_seq_length")
        data = BatchData({k: torch.cat([b.data.transition_data[k] for b in batches]) for k in first.data.transition_data},
                         {k: torch.cat([b.data.episode_data[k] for b in batches]) for k in first.data.episode_data})
        return cls(first._scheme, first._groups, sum(b.batch_size for b in batches), first._max_seq_length,
                   data=data, preprocess=first._preprocess, device=first._device)

    def clear(self, bs: Index) -> None:
        """Zero every field (``filled`` included) of episodes ``bs``, e.g. to reuse their rows."""
        b_index, _ = _batch_index(bs, self._batch_size)
        for store in (self.data.transition_data, self.data.episode_data):
            for value in store.values():
                value[b_index] = 0

    def max_t_filled(self) -> int:
        """One past the last filled step over all episodes (0 when nothing is filled)."""
        filled = self.data.transition_data[FILLED][..., 0]
        if filled.numel() == 0:
            return 0
        steps = torch.arange(1, self._max_seq_length + 1, device=filled.device)
        return int(((filled != 0) * steps).max())

    def to(self, device: torch.device | str) -> "EpisodeBatch":
        """Move every tensor to `device` in place; returns self."""
        for store in (self.data.transition_data, self.data.episode_data):
            for key, value in store.items():
                store[key] = value.to(device)
        self._device = device
        self._torch_device = self.data.transition_data[FILLED].device
        return self

    def _fields_repr(self) -> str:
        lines = []
        for title, store in (("transition", self.data.transition_data), ("episode", self.data.episode_data)):
            for key, value in store.items():
                dtype = str(value.dtype).replace("torch.", "")
                lines.append(f"  {title:<10} {key:<20} {list(value.shape)} {dtype}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"EpisodeBatch(batch_size={self._batch_size}, max_seq_length={self._max_seq_length}, "
                f"device={self._device}, groups={self._groups})\n{self._fields_repr()}")


class ReplayBuffer(EpisodeBatch):
    """Ring buffer of `buffer_size` whole episodes.

    `insert_episode_batch` writes episodes at `buffer_index` and wraps around to the front;
    a batch larger than the buffer keeps only its last `buffer_size` episodes (the same
    result as inserting its episodes one by one). `sample` draws uniformly without
    replacement from a `torch.Generator` seeded with `seed`; `sample_latest` returns the
    most recent episodes, oldest first. Both return copies (later inserts do not alter them).
    """

    def __init__(
        self,
        scheme: Mapping[str, Any],
        groups: Mapping[str, int],
        buffer_size: int,
        max_seq_length: int,
        preprocess: Mapping[str, tuple[str, Sequence[Any]]] | None = None,
        device: torch.device | str = "cpu",
        seed: int | None = None,
    ) -> None:
        if not _is_int(buffer_size) or int(buffer_size) < 1:
            raise ValueError(f"buffer_size must be a positive int, got {buffer_size!r}")
        super().__init__(scheme, groups, buffer_size, max_seq_length, preprocess=preprocess, device=device)
        self._buffer_index = 0
        self._episodes_in_buffer = 0
        self._generator = torch.Generator()
        if seed is None:
            self._generator.seed()
        else:
            self._generator.manual_seed(int(seed))

    @property
    def buffer_size(self) -> int:
        return self._batch_size

    @property
    def buffer_index(self) -> int:
        """Slot the next inserted episode goes to."""
        return self._buffer_index

    @property
    def episodes_in_buffer(self) -> int:
        return self._episodes_in_buffer

    def insert_episode_batch(self, ep_batch: EpisodeBatch) -> None:
        """Copy the episodes of `ep_batch` into the ring (its fields must match the buffer's).

        Steps beyond `ep_batch.max_seq_length` are zeroed, so no data of an overwritten
        episode survives.
        """
        if not isinstance(ep_batch, EpisodeBatch):
            raise TypeError(f"insert_episode_batch expects an EpisodeBatch, got {type(ep_batch).__name__}")
        if ep_batch.max_seq_length > self._max_seq_length:
            raise ValueError(f"episode batch max_seq_length {ep_batch.max_seq_length} exceeds the "
                             f"buffer's {self._max_seq_length}")
        src_scheme = ep_batch._scheme
        missing, extra = sorted(set(self._scheme) - set(src_scheme)), sorted(set(src_scheme) - set(self._scheme))
        if missing or extra:
            raise ValueError(f"episode batch fields differ from the buffer's: missing {missing}, unknown {extra}")
        for key in self._scheme:
            if (ep_batch._field_shape(key) != self._field_shape(key)
                    or src_scheme[key]["episode_const"] != self._scheme[key]["episode_const"]):
                raise ValueError(f"field '{key}' has shape {ep_batch._field_shape(key)} in the episode batch, "
                                 f"{self._field_shape(key)} in the buffer")
        n, size = ep_batch.batch_size, self._batch_size
        if n == 0:
            return
        m = min(n, size)
        dst_start = (self._buffer_index + n - m) % size
        first = min(m, size - dst_start)
        self._copy_in(ep_batch, slice(n - m, n - m + first), slice(dst_start, dst_start + first))
        if m > first:
            self._copy_in(ep_batch, slice(n - m + first, n), slice(0, m - first))
        self._buffer_index = (self._buffer_index + n) % size
        self._episodes_in_buffer = min(size, self._episodes_in_buffer + n)

    def _copy_in(self, ep_batch: EpisodeBatch, src: slice, dst: slice) -> None:
        t = ep_batch.max_seq_length
        for key, value in ep_batch.data.transition_data.items():
            target = self.data.transition_data[key]
            target[dst, :t] = value[src].to(device=target.device, dtype=target.dtype)
            if t < self._max_seq_length:
                target[dst, t:] = 0
        for key, value in ep_batch.data.episode_data.items():
            target = self.data.episode_data[key]
            target[dst] = value[src].to(device=target.device, dtype=target.dtype)

    def can_sample(self, n: int) -> bool:
        return self._episodes_in_buffer >= n

    def _check_n(self, n: int, what: str) -> None:
        if not _is_int(n) or int(n) < 1:
            raise ValueError(f"{what}: n must be a positive int, got {n!r}")
        if n > self._episodes_in_buffer:
            raise ValueError(f"{what}: cannot take {n} episodes, the buffer holds only "
                             f"{self._episodes_in_buffer} (buffer_size {self._batch_size})")

    def sample(self, n: int) -> EpisodeBatch:
        """n distinct episodes drawn uniformly (a copy)."""
        self._check_n(n, "sample")
        idx = torch.randperm(self._episodes_in_buffer, generator=self._generator)[: int(n)]
        return self[idx]

    def sample_latest(self, n: int) -> EpisodeBatch:
        """The n most recently inserted episodes, oldest first (a copy)."""
        self._check_n(n, "sample_latest")
        idx = (self._buffer_index - int(n) + torch.arange(int(n))) % self._batch_size
        return self[idx]

    def reset(self) -> None:
        """Empty the buffer: zero all data and set the counters to 0 (the sampler RNG keeps its state)."""
        for store in (self.data.transition_data, self.data.episode_data):
            for value in store.values():
                value.zero_()
        self._buffer_index = 0
        self._episodes_in_buffer = 0

    def memory_bytes(self) -> int:
        """Bytes held by the buffer's tensors."""
        return sum(v.numel() * v.element_size()
                   for store in (self.data.transition_data, self.data.episode_data) for v in store.values())

    def rng_state(self) -> torch.Tensor:
        """State of the sampler's generator (checkpointed even when the contents are not)."""
        return self._generator.get_state()

    def set_rng_state(self, state: torch.Tensor) -> None:
        self._generator.set_state(state)

    def state_dict(self) -> dict[str, Any]:
        """Contents (only the occupied slots), counters and sampler RNG state, for checkpoints."""
        k = self._episodes_in_buffer

        def occupied(v: torch.Tensor) -> torch.Tensor:
            return v if k == self._batch_size else v[:k].clone()

        return {
            "transition_data": {key: occupied(v) for key, v in self.data.transition_data.items()},
            "episode_data": {key: occupied(v) for key, v in self.data.episode_data.items()},
            "buffer_index": self._buffer_index,
            "episodes_in_buffer": k,
            "rng_state": self.rng_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned (the scheme and sizes must match)."""
        k = int(state["episodes_in_buffer"])
        if not 0 <= k <= self._batch_size:
            raise ValueError(f"state holds {k} episodes, the buffer has room for {self._batch_size}")
        for name in ("transition_data", "episode_data"):
            store, saved = getattr(self.data, name), state[name]
            if set(store) != set(saved):
                raise ValueError(f"state {name} fields {sorted(saved)} differ from the buffer's {sorted(store)}")
            for key, value in saved.items():
                if tuple(value.shape) != (k, *store[key].shape[1:]):
                    raise ValueError(f"state field '{key}' has shape {tuple(value.shape)}, "
                                     f"expected {(k, *store[key].shape[1:])}")
        self.reset()
        for name in ("transition_data", "episode_data"):
            store = getattr(self.data, name)
            for key, value in state[name].items():
                store[key][:k] = value.to(device=store[key].device, dtype=store[key].dtype)
        self._buffer_index = int(state["buffer_index"]) % self._batch_size
        self._episodes_in_buffer = k
        self.set_rng_state(state["rng_state"])

    def __repr__(self) -> str:
        return (f"ReplayBuffer(episodes_in_buffer={self._episodes_in_buffer}, buffer_size={self._batch_size}, "
                f"buffer_index={self._buffer_index}, max_seq_length={self._max_seq_length}, "
                f"device={self._device}, groups={self._groups})\n{self._fields_repr()}")
