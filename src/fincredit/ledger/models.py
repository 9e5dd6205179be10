"""Tables of the tamper-evident log (防篡改账本). Rows are only ever inserted, never updated or deleted
(except the single ``ledger_head`` row, whose update is the append lock)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class LedgerEntry(Base):
    """One log entry. ``body`` holds the canonical JSON bytes (UTF-8) that the leaf hash covers:
    ``{"index", "kind", "parties", "payload", "timestamp"}`` with sorted keys and no spaces."""

    __tablename__ = "ledger_entries"

    index: Mapped[int] = mapped_column("entry_index", BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def document(self) -> dict[str, Any]:
        """The entry as JSON, parsed from the hashed bytes (the authority, not the columns)."""
        return json.loads(self.body)

    @property
    def parties(self) -> list[str]:
        return list(self.document.get("parties", []))


class LedgerNode(Base):
    """The hash of a complete, aligned perfect subtree above the leaves: ``level ≥ 1``, covering
    leaves ``[index·2^level, (index+1)·2^level)``. Level 0 is ``LedgerEntry.leaf_hash``."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerHead(Base):
    """A single row (id 1) holding the log size. Appenders update it first: on PostgreSQL the row lock
    serializes appends across processes until commit; on SQLite the write lock does.

    ``frontier`` is the compact range after the last append (the hashes of the perfect subtrees covering
    leaves ``[0, frontier_size)``, highest level first, 32 bytes each), written with the entries. The
    statement that takes the lock returns it, so an appender reads no tree nodes while it holds the
    lock: PostgreSQL re-reads the locked row at its latest version, whereas a read of ``ledger_nodes``
    in the same statement would see the snapshot from before the wait. Derived data: ``fincredit ledger
    verify`` checks it, and when it is missing or stale (``frontier_size != size``) appenders read the
    nodes from the tables instead."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    frontier: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    frontier_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LedgerCheckpoint(Base):
    """A signed statement of the tree size and root hash at a moment (签名检查点)."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))  # hex
    hash_alg: Mapped[str] = mapped_column(String(16))
    # The exact RFC 3339 string that was signed (a datetime column could lose the format).
    timestamp: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    alg: Mapped[str] = mapped_column(String(16))
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))  # base64
