"""Monitoring's background jobs: rule evaluation, webhook delivery, subscription pushes, scans."""

from __future__ import annotations

from fincredit.monitoring import grades, subscriptions, watchlist
from fincredit.monitoring.config import get_monitoring_settings
from fincredit.monitoring.evaluate import EVALUATE_KIND, active_rules, evaluate_batch
from fincredit.monitoring.webhooks import DELIVER_KIND, deliver, on_delivery_dead
from fincredit.worker.registry import job, register_periodic, register_startup_check

job(EVALUATE_KIND)(evaluate_batch)
# The webhook schedule decides when to give up (RetryLater); this bounds unexpected errors only.
job(DELIVER_KIND, max_attempts=50, on_dead=on_delivery_dead)(deliver)

register_periodic("monitoring.scan", lambda: get_monitoring_settings().monitoring_scan_seconds, watchlist.scan)
register_periodic("monitoring.grades", lambda: get_monitoring_settings().monitoring_scan_seconds, grades.scan)
register_periodic("monitoring.subscriptions", lambda: get_monitoring_settings().subscription_scan_seconds,
                  subscriptions.push_due)
register_startup_check(active_rules)  # a malformed rules file stops the worker at start, clearly
