"""The queries the transports need, one module per aggregate: the only place above the models
where SQLAlchemy is written, so that `bot/` and `actions/` never import it.

Each function takes the `Database` (it opens its own transaction) or a `Session` (it runs inside
the caller's transaction, when the write must commit with other changes).
"""

from sqlalchemy.ext.asyncio import AsyncSession as Session

__all__ = ["Session"]
