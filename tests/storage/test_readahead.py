"""read_ahead: a producer on a second thread, in order, bounded, stopped with its consumer."""

from __future__ import annotations

import threading
import time

import pytest

from storage.readahead import read_ahead


def test_items_arrive_in_order():
    assert list(read_ahead(iter(range(1000)))) == list(range(1000))


def test_an_empty_producer_ends_at_once():
    assert list(read_ahead(iter([]))) == []


def test_the_producer_runs_on_another_thread_and_its_error_is_raised_here():
    seen = []

    def produce():
        seen.append(threading.current_thread())
        yield 1
        raise LookupError("disk gone")

    stream = read_ahead(produce())
    assert next(stream) == 1
    with pytest.raises(LookupError, match="disk gone"):
        next(stream)
    assert seen[0] is not threading.current_thread()


def test_the_producer_stays_at_most_depth_ahead():
    produced = []
    def produce():
        for n in range(100):
            produced.append(n)
            yield n

    stream = read_ahead(produce(), depth=2)
    assert next(stream) == 0
    time.sleep(0.3)  # time for the producer to run ahead as far as it may
    # two in the queue and one in hand, waiting for room
    assert len(produced) <= 1 + 2 + 1
    assert list(stream) == list(range(1, 100))


def test_stopping_early_stops_the_producer_and_runs_its_clean_up_on_its_thread():
    cleaned_on = []

    def produce():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            cleaned_on.append(threading.current_thread())

    stream = read_ahead(produce())
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    before = threading.active_count()
    stream.close()
    assert threading.active_count() == before - 1
    assert len(cleaned_on) == 1 and cleaned_on[0] is not threading.current_thread()
