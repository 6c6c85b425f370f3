"""Prometheus metrics shared by the transports and the conversation (served at /metrics).

With `serve --workers N` each worker is its own process: prometheus-client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by `serve` for its workers) keeps each worker's values in files
that `exposition()` sums, so one scrape of /metrics counts every worker. Several replicas are
scraped one by one; Prometheus tells them apart by its `instance` label.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST


def exposition() -> bytes:
    """The text format of every metric: this process's, or all workers' in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


MESSAGES = Counter("supportbot_messages_total", "Customer messages handled", ["channel"])
TICKETS_OPENED = Counter(
    "supportbot_tickets_opened_total", "Tickets opened", ["category", "priority", "channel"]
)
SELF_SERVICE = Counter(
    "supportbot_self_service_solved_total", "Intakes solved by a troubleshooting step", ["category"]
)
ARTICLE_SELF_SERVICE = Counter(
    "supportbot_article_self_service_solved_total",
    "Customers whose problem a knowledge article solved, without a ticket",
    ["article"],
)
ARTICLES_OFFERED = Counter(
    "supportbot_articles_offered_total", "Knowledge articles offered in the chat", ["article"]
)
HANDOFFS = Counter("supportbot_handoffs_total", "Customers who asked for a person")
REJECTED = Counter("supportbot_rejected_inputs_total", "Inputs refused as malformed or oversized", ["reason"])
TURN_SECONDS = Histogram(
    "supportbot_turn_seconds",
    "Time to answer one customer message",
    ["channel"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
NLU_SECONDS = Histogram(
    "supportbot_nlu_parse_seconds",
    "NLU parse time",
    ["backend"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1),
)
OUTBOX_DELIVERED = Counter("supportbot_outbox_delivered_total", "Notifications delivered", ["kind"])
OUTBOX_FAILED = Counter("supportbot_outbox_failures_total", "Notification delivery failures", ["kind"])
OUTBOX_DEAD = Counter(
    "supportbot_outbox_dead_letters_total",
    "Notifications given up (a permanent answer, or still failing at the horizon), by reason",
    ["kind", "reason"],
)
