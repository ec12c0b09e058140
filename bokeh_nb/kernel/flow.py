"""Flow control toward the browser: a kernel-wide budget of comm messages per second.

Jupyter drops iopub messages silently above ``iopub_msg_rate_limit`` (1000 msgs/s averaged
over ``rate_limit_window`` = 3 s). Every session in the kernel draws from one token bucket
set well below that, so a session never sends faster than the budget; what cannot be sent
now stays pending (merged with later changes) and goes out when tokens are back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class MessageBudget:
    rate: float = 400.0  # messages per second, sustained
    burst: float = 400.0  # messages that may go out at once
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)
    sent: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self, n: int = 1) -> bool:
        """Take n tokens if there are that many; n above the burst is allowed once full."""
        self._refill()
        if self._tokens >= min(n, self.burst):
            self._tokens -= n
            self.sent += n
            return True
        return False

    def wait_time(self, n: int = 1) -> float:
        """Seconds until n tokens are available."""
        self._refill()
        missing = min(n, self.burst) - self._tokens
        return max(0.0, missing / self.rate)


#: The one budget shared by every session of this kernel.
KERNEL_BUDGET = MessageBudget()
