"""Turns through a long list of ids: the association re-check's rotation (pure)."""

from __future__ import annotations

from worker.batching import next_turn


def test_a_short_list_is_taken_whole_every_turn():
    assert next_turn(["3", "1", "2"], None, 5) == (["1", "2", "3"], None)
    assert next_turn(["3", "1", "2"], "2", 5) == (["1", "2", "3"], None)


def test_turns_cover_every_id_and_wrap_around():
    ids = [str(n) for n in range(100, 125)]
    seen, after = [], None
    for _ in range(3):
        chosen, after = next_turn(ids, after, 10)
        assert len(chosen) == 10
        seen.extend(chosen)
    assert set(seen) == set(ids)  # 25 ids in 3 turns of 10: all of them, the first 5 twice
    assert seen[20:25] == sorted(ids)[20:25] and seen[25:] == sorted(ids)[:5]


def test_a_turn_survives_ids_joining_and_leaving():
    chosen, after = next_turn(["a", "b", "c", "d"], None, 2)
    assert chosen == ["a", "b"]
    # "b" left and "bb" joined: the next turn goes on after "b", without repeating "a".
    chosen, after = next_turn(["a", "bb", "c", "d"], after, 2)
    assert chosen == ["bb", "c"]
    chosen, _ = next_turn(["a", "bb", "c", "d"], after, 2)
    assert chosen == ["d", "a"]
