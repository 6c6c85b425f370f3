"""The bot itself: getMe, logOut, close and its command menus."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from tests.bot.telegram.fake_telegram.checks import ParamChecks
from tests.bot.telegram.fake_telegram.constants import BOT_USER
from tests.bot.telegram.fake_telegram.wire import _bad


class BotMethods(ParamChecks):
    """getMe, logOut, close, setMyCommands, getMyCommands and deleteMyCommands."""

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT_USER)

    def _logOut(self, params: dict[str, Any]) -> bool:
        return True

    def _close(self, params: dict[str, Any]) -> bool:
        return True

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), str(language)

    def _setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse commands JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._scope_key(params)
        self._scoped_commands[key] = cleaned
        if key == (json.dumps({"type": "default"}), ""):
            self.commands = list(cleaned)
        return True

    def _getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._scoped_commands.get(self._scope_key(params), []))

    def _deleteMyCommands(self, params: dict[str, Any]) -> bool:
        key = self._scope_key(params)
        self._scoped_commands.pop(key, None)
        if key == (json.dumps({"type": "default"}), ""):
            self.commands = []
        return True
