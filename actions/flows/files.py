"""Screenshots and files: to the intake in progress, the ticket being talked about, or a new report."""

from __future__ import annotations

from typing import Any

from actions.flows.base import Flow
from actions.messages import Reply
from actions.state import FlowName
from actions.turn import Turn
from desk.constants import OPEN_STATUSES
from desk.triage import suggest_priority
from storage.models import Attachment


class FilesFlow(Flow):
    async def turn(self, t: Turn, files: list[dict[str, Any]], replies: list[Reply]) -> list[Reply]:
        """`replies` answered the files' caption; the files then follow the state it left."""
        rows = await t.repo.add_attachments(
            conversation_id=t.conversation.id,
            channel=t.msg.channel,
            files=files,
            caption=t.text or None,
            now=t.now,
        )
        what = _describe(t, rows)
        handoff_ticket_id = t.conversation.handoff_ticket_id
        if handoff_ticket_id is None and t.state.flow == FlowName.INTAKE and t.state.intake:
            t.intake.attachments.extend(row.id for row in rows)
            kept = t.reply("files.kept", what=what)
            return [kept, *replies] if replies else [kept, *self.router.intake.advance(t)]
        session = t.repo.session
        ticket = await self.tickets.get(session, handoff_ticket_id) if handoff_ticket_id is not None else None
        if ticket is None or ticket.status not in OPEN_STATUSES:
            ticket = await self.tickets.open_for_customer(session, t.customer.id)
        if ticket is not None:
            for row in rows:
                await self.tickets.add_attachment(session, ticket.id, row, actor=t.actor, now=t.now)
            return [t.reply("files.added", what=what, id=ticket.id), *replies]
        # No ticket to add it to: a file sent out of the blue is a problem report.
        intake = t.state.start_intake()
        if t.text:
            intake.description = t.text
            intake.suggested_priority = suggest_priority(t.text)
        intake.attachments = [row.id for row in rows]
        return [t.reply("files.got", what=what), *self.router.intake.advance(t)]


def _describe(t: Turn, rows: list[Attachment]) -> str:
    if len(rows) > 1:
        return t.say("files.many", n=len(rows))
    if rows[0].kind == "photo":
        return t.say("files.photo")
    return t.say("files.file", name=rows[0].file_name)
