"""Getting updates: getUpdates (offsets, long polling, conflicts) and the webhook methods."""

from __future__ import annotations

import asyncio
import copy
import re
import time
from typing import Any
from urllib.parse import urlsplit

from tests.bot.telegram.fake_telegram.checks import ParamChecks
from tests.bot.telegram.fake_telegram.constants import NOT_BY_DEFAULT, WEBHOOK_PORTS
from tests.bot.telegram.fake_telegram.updates import update_type
from tests.bot.telegram.fake_telegram.wire import ApiError, _bad, _Ok


class UpdateMethods(ParamChecks):
    """getUpdates, setWebhook, deleteWebhook and getWebhookInfo."""

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = self._int(params, "offset", default=0) or 0
        limit = min(max(self._int(params, "limit", default=100) or 100, 1), 100)
        timeout = max(self._int(params, "timeout", default=0) or 0, 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str) and allowed:
            raise _bad("can't parse allowed updates JSON object")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an earlier poll still waiting is terminated
        deadline = time.monotonic() + timeout
        while True:
            if self._stopping:
                return []
            if generation != self._poll_generation:
                if self.webhook is not None:
                    raise ApiError(409, "Conflict: terminated by setWebhook request")
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            ready = [u for u in self._pending if self._allowed(u)][:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return copy.deepcopy(ready)
            wake = self._wake
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except TimeoutError:
                pass

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = update_type(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in NOT_BY_DEFAULT

    def _setWebhook(self, params: dict[str, Any]) -> _Ok:
        url = params.get("url") or ""
        if not url:
            return self._deleteWebhook(params)
        if not isinstance(url, str):
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if not parts.hostname:
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        try:
            port = parts.port or 443
        except ValueError:
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443") from None
        if port not in WEBHOOK_PORTS:
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and secret != "":
            if not isinstance(secret, str) or len(secret) > 256:
                raise _bad("secret token is too long")
            if not re.fullmatch(r"[A-Za-z0-9_-]+", secret):
                raise _bad("secret token contains unallowed characters")
        else:
            secret = None
        max_connections = self._int(params, "max_connections", default=40) or 40
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str) and allowed:
            raise _bad("can't parse allowed updates JSON object")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        drop = bool(params.get("drop_pending_updates"))
        if drop:
            self._pending.clear()
        webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed if isinstance(allowed, list) else None,
            "drop_pending_updates": drop,
            "max_connections": max_connections,
            "ip_address": params.get("ip_address"),
        }
        already = self.webhook is not None and self.webhook["url"] == url
        self.webhook = webhook
        self._poll_generation += 1
        self._notify()
        return _Ok(True, "Webhook is already set" if already else "Webhook was set")

    def _deleteWebhook(self, params: dict[str, Any]) -> _Ok:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        was = self.webhook is not None
        self.webhook = None
        return _Ok(True, "Webhook was deleted" if was else "Webhook is already deleted")

    def _getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        info: dict[str, Any] = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
            "max_connections": self.webhook["max_connections"],
            "ip_address": self.webhook.get("ip_address") or "149.154.167.220",
        }
        if self.webhook["allowed_updates"]:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info
