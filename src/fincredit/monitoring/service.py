"""What other capabilities call, each inside their own unit of work (never commits).

* collection: ``notify_batch_committed(session, batch_id)`` in the transaction that stores a batch —
  the rules are evaluated by a job once that transaction commits (transactional outbox);
* authorization: ``on_authorization_revoked(session, authorization_id)`` in the revoking
  transaction — watching under it stops and the institution is notified;
* financing (loan feedback): ``add_borrower(session, institution_id, uscc, loan_id)`` when a loan
  is reported, ``end_borrower(...)`` when it is settled.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fincredit.monitoring.evaluate import EVALUATE_KIND
from fincredit.monitoring.watchlist import add_borrower, end_borrower, on_authorization_revoked
from fincredit.worker import outbox

__all__ = ["notify_batch_committed", "on_authorization_revoked", "add_borrower", "end_borrower"]


def notify_batch_committed(session: Session, batch_id: int) -> None:
    """Evaluate the risk rules over the batch's new records once the caller's transaction commits."""
    outbox.enqueue(session, EVALUATE_KIND, {"batch_id": int(batch_id)})
