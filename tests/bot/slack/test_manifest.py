"""The shipped Slack app manifest asks for what the desk uses, and points everything at one URL."""

from __future__ import annotations

from pathlib import Path

import yaml

from desk.policy import load_policy

ROOT = Path(__file__).resolve().parents[3]
URL = "https://YOUR-HOST/slack/events"


def test_manifest_matches_the_desk() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yml").read_text(encoding="utf-8"))
    assert manifest["display_information"]["name"]
    assert manifest["features"]["bot_user"]["display_name"] == "supportbot"
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "chat:write",
        "chat:write.public",
        "commands",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
        "files:write",
        "users:read",
    }
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/support" and command["url"] == URL
    assert "stats [DAYS]" in command["usage_hint"]
    settings = manifest["settings"]
    assert settings["event_subscriptions"] == {
        "request_url": URL,
        "bot_events": ["message.channels", "message.groups"],
    }
    assert settings["interactivity"] == {"is_enabled": True, "request_url": URL}
    assert settings["socket_mode_enabled"] is False


def test_readme_names_the_policy_channels() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Connect Slack in five minutes", 1)[1].split("\n## ", 1)[0]
    policy = load_policy(ROOT / "policy.yml")
    for tier in policy.escalation.tiers.values():
        assert f"`{tier.slack_channel}`" in section
    assert f"`{policy.escalation.managers_channel}`" in section
    for step in (
        "slack-manifest.yml",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SUPPORTBOT_MANAGERS",
        "/support help",
    ):
        assert step in section
