"""Query answers decoded the fast way (results.py) read what ``json.loads`` + ``float`` read for every
value Prometheus writes (Go's shortest fixed notation, -0 with its sign, NaN, +Inf, -Inf): special
values, empty results, labels holding brackets, quotes and commas, every result type; spellings Go
never writes that ``float`` would take (+1, .5, 1., 01, +Infinity) are errors; and anything else is a
ValueError naming what is wrong, never a wrong series or a traceback."""

from __future__ import annotations

import json
import math

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.metrics import results


def answer(result_type: str, result: object) -> results.QueryData:
    body = json.dumps({"status": "success", "data": {"resultType": result_type, "result": result}})
    data = results.QUERY_ANSWER.decode(body.encode()).data
    assert data is not None
    return data


def prometheus_float(value: float) -> str:
    """A value as Prometheus writes it: Go's FormatFloat(v, 'f', -1, 64), the shortest digits in fixed
    notation ("-0", "1000...0", "0.000...5"), and +Inf with its sign."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return np.format_float_positional(value, trim="-")


def test_special_values_and_spacing() -> None:
    times, values = results.pairs(b' [ [1, "+Inf"], [2.5,"-Inf"],[3,"NaN"],[4,"1e-3"],[1e3,"-0"] ] ')
    assert times.tolist() == [1.0, 2.5, 3.0, 4.0, 1000.0]
    assert values[0] == math.inf and values[1] == -math.inf and math.isnan(values[2])
    assert values[3:].tolist() == [0.001, 0.0]
    assert times.dtype == values.dtype == np.float64 and times.flags.c_contiguous


def test_minus_zero_keeps_its_sign() -> None:
    _, values = results.pairs(b'[[1,"-0"],[2,"0"],[3,"-0.0"]]')
    assert np.signbit(values).tolist() == [True, False, True]


@pytest.mark.parametrize("spelling", ["+1", ".5", "1.", "01", "+Infinity", "+NaN"])
def test_spellings_prometheus_never_writes_are_errors_not_guesses(spelling: str) -> None:
    float(spelling)  # which float() would read
    with pytest.raises(ValueError, match="point 0's value is not a number"):
        results.pairs(b'[[1,"' + spelling.encode() + b'"]]')


@pytest.mark.parametrize("raw", [b"[]", b"[ ]"])
def test_no_points(raw: bytes) -> None:
    times, values = results.pairs(raw)
    assert times.size == values.size == 0


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'[[1,"2","3"],[4]]', "not a list of [time"),  # as many numbers as two pairs, not two pairs
        (b"[[1,2]]", "not a list of [time"),  # a number where Prometheus writes a string
        (b'[["1","2"]]', "not a list of [time"),
        (b'[[1,"1,2"]]', "not a list of [time"),
        (b'[1,"2"]', "not a list of [time"),
        (b"[[]]", "not a list of [time"),
        (b"{}", "not a list of [time"),
        (b"", "not a list of [time"),
        (b'[[1,"2"],[3,"abc"]]', "point 1's value is not a number (Expected `float`, got `str`)"),
        (b'[[true,"1"]]', "point 0's time is not a number"),
        (b'[[null,"1"]]', "point 0's time is not a number"),
        (b'[[1,"1e999"]]', "point 0's value is not a number (Number out of range)"),
        (b'[[1e999,"1"]]', "point 0's time is not a number (Number out of range)"),
        (b'[[1,"2\\"]"]]', "not a list of [time"),
        (b'[[1 2,"3"]]', "a time or value is not a number (JSON is malformed"),
        # No pair's skeleton, but something between the brackets: not an empty series.
        (b"[5]", "not a list of [time"),
        (b"[{}]", "not a list of [time"),
        (b"[null]", "not a list of [time"),
        (b"[true]", "not a list of [time"),
        (b"[ 1.5 ]", "not a list of [time"),
    ],
)
def test_what_is_not_pairs_is_a_value_error(raw: bytes, why: str) -> None:
    with pytest.raises(ValueError) as info:
        results.pairs(raw)
    assert why in str(info.value)


def test_labels_are_read_as_json_whatever_they_hold() -> None:
    labels = {"__name__": "x", "path": '/a/[1,"2"]', "q": '"],[', "b": "\\", "e": "é ☃"}
    data = answer("matrix", [{"metric": labels, "values": [[1, "5"]]}, {"metric": {}, "values": []}])
    first, second = results.series(data)
    assert first.labels == labels and first.values.tolist() == [5.0] and first.timestamps.tolist() == [1.0]
    assert second.labels == {} and len(second) == 0


def test_a_bad_series_is_named_in_the_error() -> None:
    data = answer("matrix", [{"metric": {"__name__": "x", "job": "a"}, "values": [[1, "oops"]]}])
    with pytest.raises(ValueError, match=r"point 0.s value is not a number .* in series x\{job=.a.\}"):
        results.series(data)


def test_vector_scalar_string_and_histograms() -> None:
    vector = answer(
        "vector", [{"metric": {"a": "b"}, "value": [7, "-Inf"]}, {"metric": {}, "histogram": [7, {}]}]
    )
    (sample,) = results.series(vector)
    assert sample.labels == {"a": "b"} and sample.values.tolist() == [-math.inf]
    (scalar,) = results.series(answer("scalar", [1700000000.5, "NaN"]))
    assert scalar.timestamps.tolist() == [1700000000.5] and math.isnan(scalar.values[0])
    assert results.series(answer("string", [1, "text"])) == []
    matrix = answer("matrix", [{"metric": {}, "histograms": [[1, {"count": "1"}]]}])
    assert results.has_histograms(matrix) and not results.has_histograms(vector)


def test_a_vector_sample_that_is_not_a_pair_is_an_error() -> None:
    data = answer("vector", [{"metric": {"a": "b"}, "value": 42}])
    with pytest.raises(ValueError, match=r'not a list of \[time, "value"\] pairs in series \{a="b"\}'):
        results.series(data)


@pytest.mark.parametrize(
    ("result_type", "result"),
    [("matrix", [1, 2]), ("vector", ["x"])],
)
def test_a_result_not_of_its_type_is_a_value_error(result_type: str, result: object) -> None:
    with pytest.raises(ValueError, match=f"a {result_type} holds something other than objects"):
        results.series(answer(result_type, result))


@pytest.mark.parametrize(
    "result",
    [
        [1],
        ["1", "2"],
        [{}, "2"],
        [1, {"values": [[1, "2"]]}],  # an object where the value belongs
        [{"value": [1, "2"]}],
        [1, "2", "3"],
        [1, 2],
    ],
)
def test_a_scalar_is_checked_as_a_time_and_a_value(result: object) -> None:
    with pytest.raises(ValueError, match=r'a scalar is not \[time, "value"\]'):
        results.series(answer("scalar", result))


def test_a_scalar_value_is_read_as_a_matrix_value_is() -> None:
    (scalar,) = results.series(answer("scalar", [1700000000, "+Inf"]))
    assert scalar.timestamps.tolist() == [1700000000.0] and scalar.values.tolist() == [math.inf]
    with pytest.raises(ValueError, match="point 0's value is not a number"):
        results.series(answer("scalar", [1700000000, "abc"]))


def test_wrong_types_in_the_answer_fail_to_decode() -> None:
    for body in (b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1}}]}}',
                 b'{"status":"success","data":{"resultType":"matrix","result":{}}}',
                 b'{"status":1}', b"[]"):  # fmt: skip
        with pytest.raises(msgspec.ValidationError):
            results.QUERY_ANSWER.decode(body)


finite = st.floats(allow_nan=False, allow_infinity=False)
values = st.one_of(finite, st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, 5e-324]))
times = st.one_of(
    st.integers(0, 4_000_000_000), st.floats(0, 4e9, allow_nan=False).map(lambda t: round(t, 3))
)
label_text = st.text(alphabet=st.sampled_from(list('ab[]",\\ {}:\n☃')), max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(label_text, label_text, max_size=3),
            st.lists(st.tuples(times, values), max_size=30),
        ),
        max_size=4,
    )
)
def test_same_as_json_loads_and_float(matrix: list[tuple[dict[str, str], list[tuple[float, float]]]]) -> None:
    result = [
        {"metric": labels, "values": [[t, prometheus_float(v)] for t, v in points]}
        for labels, points in matrix
    ]
    decoded = results.series(answer("matrix", result))
    expected = json.loads(json.dumps(result))
    assert len(decoded) == len(expected)
    for series, item in zip(decoded, expected, strict=True):
        assert series.labels == item["metric"]
        assert series.timestamps.tolist() == [float(p[0]) for p in item["values"]]
        want = np.array([float(p[1]) for p in item["values"]])
        np.testing.assert_array_equal(series.values, want)
        assert np.signbit(series.values).tolist() == np.signbit(want).tolist()  # -0 is not 0
