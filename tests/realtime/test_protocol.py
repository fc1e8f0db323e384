"""The lighter pieces of uvicorn's WebSocket protocol (``saruna.realtime.protocol``) keep
the behaviour of the asyncio ones they replace."""

import asyncio

from saruna.realtime.protocol import _Flag, _Inbox


def test_the_inbox_hands_out_frames_in_order_and_wakes_a_waiting_reader():
    async def scenario():
        inbox = _Inbox()
        assert inbox.empty()
        reader = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        assert not reader.done()
        inbox.put_nowait("connect")
        inbox.put_nowait("frame 1")
        assert await reader == "connect"
        assert not inbox.empty()
        assert await inbox.get() == "frame 1"
        assert inbox.empty() and inbox.waiter is None

    asyncio.run(scenario())


def test_the_flag_holds_writers_until_the_transport_drains():
    async def scenario():
        writable = _Flag()
        await asyncio.wait_for(writable.wait(), 1)  # on at first: writing goes straight on
        writable.clear()
        writers = [asyncio.create_task(writable.wait()) for _ in range(2)]
        await asyncio.sleep(0.01)
        assert not any(w.done() for w in writers) and not writable.is_set()
        writable.set()
        await asyncio.wait_for(asyncio.gather(*writers), 1)
        assert writable.is_set() and writable.waiters is None

    asyncio.run(scenario())
