"""A bounded, thread-safe LRU cache for image embeddings and decoded candidates.

Keys name the model (identity plus a fingerprint of its weights' in-place versions), the image
(content hash) and the crop box, so later calls with the same image and model reuse the work,
and an edited model or image never hits a stale entry.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: a 1024 px vit_h image with a few settings fits

_model_tokens: weakref.WeakKeyDictionary[torch.nn.Module, int] = weakref.WeakKeyDictionary()
_token_counter = itertools.count(1)
_token_lock = threading.Lock()


def model_key(model: torch.nn.Module) -> tuple[Any, ...]:
    """Identity of a model object plus its parameters' version counters (bumped by in-place edits)."""
    with _token_lock:
        token = _model_tokens.get(model)
        if token is None:
            token = next(_token_counter)
            _model_tokens[model] = token
    versions = tuple(getattr(t, "_version", 0) for t in itertools.chain(model.parameters(), model.buffers()))
    first = next(model.parameters(), None)
    device = str(first.device) if first is not None else "cpu"
    dtype = str(first.dtype) if first is not None else ""
    return (token, hash(versions), device, dtype)


# Keys of read-only images by id(); an entry leaves with its array (weakref callback).
_frozen_image_keys: dict[int, tuple[weakref.ReferenceType[np.ndarray], str]] = {}
_frozen_lock = threading.Lock()


def is_frozen(array: np.ndarray) -> bool:
    """True when nothing can change the array's values: it and every array it views are read-only."""
    current: Any = array
    while isinstance(current, np.ndarray):
        if current.flags.writeable:
            return False
        current = current.base
    return current is None or isinstance(current, bytes)


def image_key(image: np.ndarray) -> str:
    """Content hash of an image array (shape and dtype included); a frozen array (`is_frozen`) is hashed once.

    Hashing a 1024 px image takes milliseconds, and an app asks for the key of the same image on
    every re-filter; a frozen array cannot change under its key.
    """
    frozen = is_frozen(image)
    if frozen:
        with _frozen_lock:
            entry = _frozen_image_keys.get(id(image))
        if entry is not None and entry[0]() is image:
            return entry[1]
    key = array_key(image)
    if frozen:
        identity = id(image)
        reference = weakref.ref(image, lambda _: _frozen_image_keys.pop(identity, None))
        with _frozen_lock:
            _frozen_image_keys[identity] = (reference, key)
    return key


def array_key(array: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((array.shape, str(array.dtype))).encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheStats:
    entries: int
    nbytes: int
    max_bytes: int
    hits: int
    misses: int
    evictions: int


class ComparisonCache:
    """LRU cache of embeddings and candidate sets, evicting least recently used entries beyond `max_bytes`.

    Share one instance between calls (and threads) to reuse work; entries larger than the whole
    budget are not stored. Values must not be mutated by users of the cache.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self._max_bytes = int(max_bytes)
        self._entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._nbytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                len(self._entries), self._nbytes, self._max_bytes, self._hits, self._misses, self._evictions
            )

    def get(self, key: Any) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry[0]

    def put(self, key: Any, value: Any, nbytes: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._nbytes -= old[1]
            if nbytes > self._max_bytes:
                return
            self._entries[key] = (value, nbytes)
            self._nbytes += nbytes
            while self._nbytes > self._max_bytes and self._entries:
                _, (_, evicted_bytes) = self._entries.popitem(last=False)
                self._nbytes -= evicted_bytes
                self._evictions += 1

    def discard(self, key: Any) -> None:
        """Drop `key` if present (its value went stale)."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._nbytes -= old[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._nbytes = 0
