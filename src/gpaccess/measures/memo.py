"""A bounded, thread-safe memo: what a long-running server's sessions compute once and share (a practice's SPC
points, lookups by practice code), forgetting the least recently used past a size."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Memo:
    """A bounded, thread-safe map of computed values: the least recently used beyond `size` are dropped. Two
    threads asking for one missing key may both compute it (the values are equal); neither waits on the other."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
