"""The parser's envelope to the handler: pass-through events leave already published."""

from __future__ import annotations

from actors.messages import (
    EVENT_BATCH_DECODER,
    EVENT_DECODER,
    RAW_ENCODER,
    BookDelta,
    BookTicker,
    Event,
    EventBatch,
    Trade,
    topic,
)
from actors.stages.parser import published_form

TICKER = BookTicker(
    venue="gateio_spot", symbol="BTC/USDT", native="BTC_USDT", recv_ns=5,
    bid_price=1.5, bid_qty=2.0, ask_price=1.6, ask_qty=3.0, seq=7,
)  # fmt: skip
DELTA = BookDelta(
    venue="gateio_spot", symbol="BTC/USDT", native="BTC_USDT", bids=[(1.5, 0.0)], asks=[],
    first_seq=8, seq=9,
)  # fmt: skip
TRADE = Trade(
    venue="gateio_spot", symbol="ETH/USDT", native="ETH_USDT", price=2.0, qty=1.0, side="buy",
    trade_id="42",
)  # fmt: skip


def test_forwarded_events_are_the_topic_and_payload_the_handler_would_publish() -> None:
    events: list[Event] = [TICKER, DELTA, TRADE]
    out = published_form(events, {})
    assert out[0] == (topic(TICKER), RAW_ENCODER.encode(TICKER))
    assert out[1] is DELTA  # books are the handler's: it gets the struct
    assert out[2] == (topic(TRADE), RAW_ENCODER.encode(TRADE))


def test_the_batch_keeps_wire_order_and_decodes_back() -> None:
    topics: dict[tuple[type, str], bytes] = {}
    items = published_form([TRADE, DELTA, TICKER, TICKER], topics)
    raw = RAW_ENCODER.encode(EventBatch("c", 1, 0, 0, 3, items, [], 0, False, 5))
    batch = EVENT_BATCH_DECODER.decode(raw)
    decoded = [e if isinstance(e, BookDelta) else EVENT_DECODER.decode(e[1]) for e in batch.events]
    assert decoded == [TRADE, DELTA, TICKER, TICKER]
    assert batch.recv_ns == 5
    assert len(topics) == 2  # one topic per (type, symbol), built once
