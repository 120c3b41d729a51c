"""Counters of storage work, read by /o/health and the benchmark."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class StoreStats:
    round_trips: int = 0          # every call that reaches MongoDB
    device_ops: int = 0           # find_one_and_update on app_users
    device_conflicts: int = 0     # version conflicts retried
    docs_written: int = 0         # update operations sent in bulk writes
    bulk_writes: int = 0          # bulk_write calls
    flushes: int = 0              # successful batcher flushes
    flush_retries: int = 0        # failed flush attempts that will be retried
    failures: int = 0             # failed storage calls of any kind
    pending_updates: int = 0      # updates waiting in the batcher
    requests: int = 0             # accepted /i requests (bulk items count one each)
    duplicates: int = 0           # retries recognised and not counted again
    last_error: str = ""

    def snapshot(self) -> dict[str, Any]:
        return asdict(self)
