"""The generated tickets of bench/sla.py: the desk's clock, the ticket columns loaded, and rows of
open and finished tickets whose deadlines are the policy targets on a 24x7 clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Tuesday 10:00 in Phnom Penh

PRIORITIES = [("critical", 0.05, 1), ("high", 0.20, 4), ("medium", 0.45, 24), ("low", 0.30, 48)]
CATEGORIES = [("technical", 0.5), ("billing", 0.2), ("infrastructure", 0.15), ("security", 0.15)]
TICKET_COLUMNS = [
    "id",
    "category",
    "priority",
    "status",
    "tier",
    "channel",
    "customer_id",
    "subject",
    "description",
    "troubleshooting",
    "created_at",
    "clock_started_at",
    "response_due_at",
    "warn_due_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "sla_check_at",
    "reminded_tier",
    "breached_tier",
    "response_round",
    "next_response_due_at",
    "next_warn_at",
    "next_response_at",
    "sla_breaches",
    "paused_at",
    "paused_seconds",
    "clock_paused",
    "nudged_at",
    "lifecycle_check_at",
    "owner",
]
NUDGE_AFTER = timedelta(days=2)  # the shipped policy's lifecycle.nudge_after


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.priorities = [p for p, _, _ in PRIORITIES]
        self.priority_weights = [w for _, w, _ in PRIORITIES]
        self.targets = {p: timedelta(hours=h) for p, _, h in PRIORITIES}
        self.categories = [c for c, _ in CATEGORIES]
        self.category_weights = [w for _, w in CATEGORIES]

    def _basics(self, ticket_id: int, created: datetime, customers: int) -> dict[str, Any]:
        rng = self.rng
        priority = rng.choices(self.priorities, self.priority_weights)[0]
        category = rng.choices(self.categories, self.category_weights)[0]
        target = self.targets[priority]
        return {
            "id": ticket_id,
            "category": category,
            "priority": priority,
            "tier": 1,
            "channel": "webchat" if rng.random() < 0.7 else "telegram",
            "customer_id": rng.randint(1, customers),
            "subject": f"{category} issue {ticket_id}",
            "description": "Generated for the benchmark.",
            "troubleshooting": "[]",
            "created_at": created,
            "clock_started_at": created,
            "response_due_at": created + target,
            "warn_due_at": created + target * 0.75,
            "first_response_at": None,
            "resolved_at": None,
            "closed_at": None,
            "sla_check_at": None,
            "reminded_tier": 0,
            "breached_tier": 0,
            "response_round": 0,
            "next_response_due_at": None,
            "next_warn_at": None,
            "next_response_at": None,
            "sla_breaches": 0,
            "paused_at": None,
            "paused_seconds": 0,
            "clock_paused": False,
            "nudged_at": None,
            "lifecycle_check_at": None,
            "owner": f"slack:U{rng.randint(1, 40):03d}" if rng.random() < 0.5 else None,
            "target": target,
        }

    def _answer(self, row: dict[str, Any], now: datetime) -> datetime:
        delay = row["target"] * self.rng.uniform(0.03, 1.4)  # about 70 % within the target
        first = min(row["created_at"] + delay, now - timedelta(seconds=1))
        first = max(first, row["created_at"])
        row["first_response_at"] = first
        return first

    def done(self, ticket_id: int, created: datetime, customers: int, now: datetime) -> dict[str, Any]:
        row = self._basics(ticket_id, created, customers)
        first = self._answer(row, now)
        resolved = min(first + timedelta(hours=self.rng.uniform(0.1, 72)), now - timedelta(seconds=1))
        resolved = max(resolved, first)
        row["resolved_at"] = resolved
        if resolved < now - timedelta(days=7):
            row["status"], row["closed_at"] = "closed", resolved + timedelta(days=7)
        else:
            row["status"] = "resolved"
            row["lifecycle_check_at"] = resolved + timedelta(days=3)  # closes after lifecycle.close_after
        return row

    def open(self, ticket_id: int, created: datetime, customers: int, now: datetime) -> dict[str, Any]:
        rng = self.rng
        row = self._basics(ticket_id, created, customers)
        unanswered = rng.random() < (0.7 if now - created < timedelta(days=3) else 0.15)
        if unanswered:
            row["status"] = "open"
            if row["response_due_at"] <= now:  # breached: the sweep escalated it, maybe twice
                row["tier"] = rng.choices([2, 3], [0.7, 0.3])[0]
                row["reminded_tier"] = row["breached_tier"] = row["tier"] - 1
            if row["warn_due_at"] > now:
                row["sla_check_at"] = row["warn_due_at"]
            elif row["response_due_at"] > now:
                row["sla_check_at"], row["reminded_tier"] = row["response_due_at"], 1
        else:
            first = self._answer(row, now)
            row["status"] = rng.choices(["acknowledged", "waiting_customer", "open"], [0.6, 0.25, 0.15])[0]
            row["tier"] = rng.choices([1, 2, 3], [0.85, 0.12, 0.03])[0]
            if row["status"] == "waiting_customer":
                paused = first + (now - first) * rng.random()
                row["paused_at"], row["lifecycle_check_at"] = paused, paused + NUDGE_AFTER
            elif rng.random() < 0.35:  # the customer wrote again: a next-response clock runs
                said = first + (now - first) * rng.random()
                row["response_round"] = rng.randint(1, 3)
                row["next_response_due_at"] = said + row["target"]
                row["next_warn_at"] = said + row["target"] * 0.75
                if row["next_warn_at"] > now:
                    row["sla_check_at"] = row["next_warn_at"]
                elif row["next_response_due_at"] > now:
                    row["sla_check_at"], row["reminded_tier"] = row["next_response_due_at"], row["tier"]
                else:
                    row["sla_breaches"] = 1
                    row["breached_tier"] = row["reminded_tier"] = row["tier"]
        return row


def records(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in TICKET_COLUMNS) for row in rows]
