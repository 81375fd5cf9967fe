"""Rules of the live debate. Every write goes through a function here; views and consumers
only translate transport to these calls. Broadcasts happen in transaction.on_commit.
"""

from __future__ import annotations

# ---------------------------------------------------------------- joining and voting
# (live voting)

# ---------------------------------------------------------------- phases
# (host console)

# ---------------------------------------------------------------- breakout rooms
# (host console)

# ---------------------------------------------------------------- points and takeaways
# (host console)
