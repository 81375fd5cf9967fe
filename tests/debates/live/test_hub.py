"""debates.live.hub: the registry this process's console and health checks can read (members,
stats), and that it imports nothing of the debate."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from debates import live
from tests.debates.sockets import in_thread, initial, open_socket, session_for

LIVE = Path(live.__file__).parent


def test_realtime_imports_nothing_of_the_debate_not_even_lazily():
    imported = set()
    for path in LIVE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    outside = {
        name
        for name in imported
        if name.split(".")[0] in {"debates", "events", "recaps"}
        and not (name == "debates.live" or name.startswith("debates.live."))
    }
    assert outside == set()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_members_and_stats_show_the_sockets_of_this_process_and_forget_them(event, attendee):
    viewer = await open_socket(event.slug)
    voter = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    for socket in (viewer, voter, host):
        await initial(socket)

    assert len(live.members(live.event_group(event.pk))) == 3
    assert len(live.members(live.hosts_group(event.pk))) == 1
    stats = await in_thread(live.stats)()  # as a view reads it, from its thread
    assert stats["sockets"] == 3 and stats["votes_queued"] == 0
    assert stats["transport"]["fast_path"] in {"unchecked", "on", "off"}

    for socket in (viewer, voter, host):
        await socket.disconnect()
    assert live.members(live.event_group(event.pk)) == set()
    assert live.stats()["sockets"] == 0
