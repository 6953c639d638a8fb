"""Layout, self time, critical path and totals, on well-formed and on broken traces."""

from __future__ import annotations

from opsconsole.traces import (
    CYCLE,
    DUPLICATE,
    ORPHAN,
    SKEW,
    SYNTHETIC,
    Layout,
    critical_path,
    layout,
    totals,
    traces_from_document,
)
from tests.unit.traces.hostile import T0, jaeger_doc, span_id


def lay(*spans: tuple, **kw) -> Layout:  # type: ignore[no-untyped-def,type-arg]
    (trace,) = traces_from_document(jaeger_doc(list(spans), **kw))
    return layout(trace)


def rows(lay: Layout) -> list[tuple[int, str]]:
    return [(lay.depth[r], lay.spans[i].operation) for r, i in enumerate(lay.order)]


def index(lay: Layout, operation: str) -> int:
    (found,) = [i for i, s in enumerate(lay.spans) if s.operation == operation]
    return found


def path(lay: Layout) -> list[tuple[str, int, int]]:
    return [(lay.spans[c.span].operation, c.start_us - T0, c.end_us - T0) for c in critical_path(lay)]


def test_depth_first_with_children_by_start_time_whatever_the_source_order() -> None:
    result = lay(
        ("c2", "b", 50, 10), ("b", "a", 40, 30), ("a", None, 0, 100), ("c1", "b", 41, 5), ("d", "a", 5, 5)
    )
    assert rows(result) == [(0, "a"), (1, "d"), (1, "b"), (2, "c1"), (2, "c2")]
    assert list(result.children(index(result, "a"))) == [index(result, "d"), index(result, "b")]
    assert result.subtree_end[result.row_of[index(result, "b")]] == 5
    assert result.problems == [] and not any(result.flags)


def test_self_time_is_the_time_no_child_covers_within_the_span() -> None:
    result = lay(("a", None, 0, 100), ("b", "a", 10, 30), ("c", "a", 30, 30), ("d", "a", 90, 40))
    # children cover [10,60] and [90,100] (d is clipped to its parent): 60 of 100
    assert result.self_us[index(result, "a")] == 40
    assert result.self_us[index(result, "b")] == 30


def test_critical_path_walks_back_from_the_last_finishing_child() -> None:
    result = lay(("A", None, 0, 100), ("B", "A", 10, 30), ("C", "A", 50, 30))
    assert path(result) == [("A", 0, 10), ("B", 10, 40), ("A", 40, 50), ("C", 50, 80), ("A", 80, 100)]


def test_critical_path_skips_a_child_that_finished_after_the_point_reached() -> None:
    # C overlaps B and ends before B does but after B started: it did not hold A up.
    result = lay(("A", None, 0, 100), ("B", "A", 10, 80), ("C", "A", 20, 40))
    assert path(result) == [("A", 0, 10), ("B", 10, 90), ("A", 90, 100)]


def test_critical_path_takes_a_child_that_ended_the_microsecond_the_next_began() -> None:
    # B then C, back to back, as instrumented code records sequential calls. Jaeger UI asks for a
    # child that ended strictly before the point reached, and would show A waiting from 0 to 30.
    result = lay(("A", None, 0, 100), ("B", "A", 10, 20), ("C", "A", 30, 30))
    assert path(result) == [("A", 0, 10), ("B", 10, 30), ("C", 30, 60), ("A", 60, 100)]
    # A zero-length child at that microsecond is taken once, and the walk goes on past it.
    result = lay(("A", None, 0, 100), ("B", "A", 10, 20), ("Z", "A", 30, 0), ("C", "A", 30, 30))
    assert path(result) == [("A", 0, 10), ("B", 10, 30), ("C", 30, 60), ("A", 60, 100)]


def test_a_follows_from_child_does_not_block_its_parent() -> None:
    result = lay(("A", None, 0, 100), ("B", "A", 10, 20), ("async", "A", 50, 45, {"refType": "FOLLOWS_FROM"}))
    assert path(result) == [("A", 0, 10), ("B", 10, 30), ("A", 30, 100)]
    assert result.spans[index(result, "async")].follows_from


def test_critical_path_descends_and_clips_children_to_their_parent() -> None:
    result = lay(
        ("A", None, 0, 100),
        ("B", "A", 20, 100),  # overflows A: clipped to [20, 100]
        ("C", "B", 30, 20),
        ("late", "A", 120, 10),  # starts after A ended: not part of A's path
        ("async", "A", 60, 30, {"refType": "FOLLOWS_FROM"}),  # does not block A
    )
    assert path(result) == [("A", 0, 20), ("B", 20, 30), ("C", 30, 50), ("B", 50, 100)]


def test_critical_path_agrees_with_jaeger_uis_own_cases() -> None:
    # The span times of two of Jaeger UI's critical-path test cases (CriticalPath/testCases test1 and
    # test2) and the sections it expects, in time order; starts are offsets from T0, as there.
    sequential = lay(("E", "C", 50, 10), ("C", None, 1, 100), ("D", "C", 20, 20))
    assert path(sequential) == [("C", 1, 20), ("D", 20, 40), ("C", 40, 50), ("E", 50, 60), ("C", 60, 101)]
    overlapping = lay(("X", None, 1, 100), ("A", "X", 10, 40), ("C", "X", 20, 40))
    assert path(overlapping) == [("X", 1, 20), ("C", 20, 60), ("X", 60, 101)]


def test_critical_path_of_a_chain_deeper_than_pythons_recursion_limit() -> None:
    chain = [("s0", None, 0, 30_000)] + [(f"s{i}", f"s{i - 1}", i, 30_000 - 2 * i) for i in range(1, 5000)]
    result = lay(*chain)
    sections = critical_path(result)
    assert max(result.depth) == 4999
    assert sections[0].start_us == T0 and sections[-1].end_us == T0 + 30_000
    assert sum(c.end_us - c.start_us for c in sections) == 30_000


def test_several_roots_each_have_their_rows_and_critical_path() -> None:
    result = lay(("late root", None, 500, 100), ("early root", None, 0, 50), ("kid", "late root", 510, 20))
    assert rows(result) == [(0, "early root"), (0, "late root"), (1, "kid")]
    assert [result.spans[i].operation for i in result.roots] == ["early root", "late root"]
    assert path(result) == [
        ("early root", 0, 50),
        ("late root", 500, 510),
        ("kid", 510, 530),
        ("late root", 530, 600),
    ]


def test_orphans_go_under_a_marked_placeholder_for_their_missing_parent() -> None:
    result = lay(
        ("root", None, 0, 100),
        ("x", "gone1", 10, 20),
        ("y", "gone1", 40, 20),
        ("z", "gone2", 70, 5),
    )
    placeholders = [i for i, f in enumerate(result.flags) if f & SYNTHETIC]
    assert len(placeholders) == 2
    first = result.spans[placeholders[0]]
    assert first.span_id == span_id("gone1") and first.operation == f"missing span {span_id('gone1')}"
    assert (first.start_us - T0, first.duration_us) == (10, 50)  # spans its orphans
    assert rows(result) == [
        (0, "root"),
        (0, f"missing span {span_id('gone1')}"),
        (1, "x"),
        (1, "y"),
        (0, f"missing span {span_id('gone2')}"),
        (1, "z"),
    ]
    assert all(result.flags[index(result, n)] & ORPHAN for n in "xyz")
    assert any("not in the trace" in p for p in result.problems)
    # placeholders are not time anyone spent
    assert sum(t.count for t in totals(result)) == 4


def test_a_cycle_is_broken_at_its_earliest_span_and_reported() -> None:
    result = lay(
        ("root", None, 0, 100),
        ("a", "b", 10, 50),
        ("b", "a", 20, 30),
        ("under", "b", 25, 5),
        ("self", "self", 80, 5),
    )
    assert sorted(rows(result)) == sorted([(0, "root"), (0, "a"), (1, "b"), (2, "under"), (0, "self")])
    assert len(result.order) == 5
    assert result.flags[index(result, "a")] & CYCLE and result.flags[index(result, "self")] & CYCLE
    assert not result.flags[index(result, "b")] & CYCLE
    assert f"({span_id('a')} → {span_id('b')} → {span_id('a')})" in " ".join(result.problems)
    assert len([p for p in result.problems if "cycle" in p]) == 2
    critical_path(result)  # terminates


def test_a_trace_of_many_cycles_and_one_long_one_is_laid_out_in_one_pass() -> None:
    pairs = [(f"a{i}", f"b{i}", 2 * i, 5) for i in range(2000)] + [
        (f"b{i}", f"a{i}", 2 * i + 1, 5) for i in range(2000)
    ]
    ring = [(f"r{i}", f"r{(i + 1) % 3000}", 10_000 + i, 5) for i in range(3000)]
    result = lay(*pairs, *ring)
    assert len(result.order) == 7000
    assert len([p for p in result.problems if "cycle" in p]) == 2001
    assert result.flags[index(result, "r0")] & CYCLE  # the ring is cut at its earliest span
    assert max(result.depth) == 2999


def test_children_outside_their_parents_time_are_flagged_as_skew() -> None:
    result = lay(
        ("a", None, 100, 100), ("early", "a", 90, 20), ("late", "a", 150, 100), ("fine", "a", 120, 10)
    )
    flagged = {result.spans[i].operation for i, f in enumerate(result.flags) if f & SKEW}
    assert flagged == {"early", "late"}
    assert any("2 spans start before or end after their parent" in p for p in result.problems)


def test_duplicate_span_ids_are_kept_apart() -> None:
    result = lay(
        ("root", None, 0, 100),
        ("one", "root", 10, 20, {"id": span_id("dup")}),
        ("two", "root", 40, 20, {"id": span_id("dup")}),
        ("kid", "dup", 12, 5),
    )
    assert rows(result) == [(0, "root"), (1, "one"), (2, "kid"), (1, "two")]
    assert result.flags[index(result, "one")] & DUPLICATE and result.flags[index(result, "two")] & DUPLICATE
    assert any("2 spans have the id" in p for p in result.problems)


def test_a_shared_client_and_server_span_nests_the_server_under_the_client() -> None:
    result = lay(
        ("root", None, 0, 100),
        ("server side", "root", 12, 20, {"id": span_id("rpc"), "kind": "server", "service": "p2"}),
        ("client side", "root", 10, 25, {"id": span_id("rpc"), "kind": "client"}),
        ("db", "rpc", 15, 5, {"service": "p2"}),
    )
    assert rows(result) == [(0, "root"), (1, "client side"), (2, "server side"), (3, "db")]


def test_totals_per_service_and_operation() -> None:
    result = lay(
        ("a", None, 0, 100),
        ("b", "a", 10, 30, {"service": "p2", "error": True}),
        ("b", "a", 50, 10, {"service": "p2", "id": span_id("b2")}),
    )
    by_service = {t.service: t for t in totals(result)}
    assert (by_service["svc-a"].count, by_service["svc-a"].self_us) == (1, 60)
    assert (by_service["svc-b"].count, by_service["svc-b"].total_us, by_service["svc-b"].errors) == (2, 40, 1)
    ops = totals(result, by_operation=True)
    assert [(t.service, t.operation, t.count, t.max_us) for t in ops] == [
        ("svc-a", "a", 1, 100),
        ("svc-b", "b", 2, 30),
    ]
    assert ops[1].mean_us == 20


def test_an_empty_trace_lays_out_to_nothing() -> None:
    result = lay()
    assert len(result.order) == 0 and critical_path(result) == [] and totals(result) == []
