from __future__ import annotations

import datetime
import fractions

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import sparse

from pypetx.errors import PickleNotAllowedError
from pypetx.kinds import KINDS, check_compatible, decode, encode, kind_of

# ----------------------------------------------------------------- sample values


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": np.array([1, 2, 3], dtype=np.int32),
            "f": [0.5, np.nan, 2.5],
            "b": [True, False, True],
            "s": ["a", "bb", None],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "c": [1 + 2j, 0j, -1j],
        },
        index=pd.Index(["x", "y", "z"], name="key"),
    )


SCALARS = {
    "int": 3,
    "bigint": 2**70,
    "float": 2.5,
    "nan": float("nan"),
    "bool": True,
    "complex": 1 - 2j,
    "np_float32": np.float32(1.25),
    "np_int8": np.int8(-3),
    "np_bool": np.bool_(False),
    "np_complex64": np.complex64(1 + 1j),
    "zero_d": np.array(7.5),
}
STRINGS = {
    "str": "héllo",
    "empty": "",
    "bytes": b"\x00ab\x00",
    "np_str": np.str_("abc"),
    "np_bytes": np.bytes_(b"xyz"),
    "zero_d_str": np.array("abc"),
}
ARRAYS = {
    "float": np.linspace(0, 1, 6).reshape(2, 3),
    "int16": np.arange(4, dtype=np.int16),
    "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
    "bool": np.array([True, False]),
    "complex": np.array([[1 + 1j, 2], [3j, -1]], dtype=np.complex64),
    "float16": np.array([1.5, 2.0], dtype=np.float16),
    "str": np.array(["a", "bcd", ""]),
    "bytes": np.array([b"ab", b"c"]),
    "datetime": np.array(["2020-01-01T10:00", "2021-05-06T00:00"], dtype="datetime64[s]"),
    "timedelta": np.array([1, 2], dtype="timedelta64[ms]"),
    "empty": np.zeros((0, 3)),
    "big_endian": np.array([1.0, 2.0], dtype=">f8"),
    "zero_d_datetime": np.array("2020-01-01", dtype="datetime64[D]"),
}
CONTAINERS = {
    "list_float": [1.0, 2.5, -3.0],
    "list_int": [1, 2, 3],
    "list_str": ["a", "bc"],
    "list_bool": [True, False],
    "list_complex": [1j, 2 + 0j],
    "list_numpy": [np.float32(1), np.float32(2)],
    "list_mixed": [1, 2.5, "a", True, b"b", 1j, np.int16(4), np.float32(0.5), 2**70],
    "list_empty": [],
    "tuple_int": (1, 2),
    "tuple_mixed": (1, "a", 2.0),
    "tuple_empty": (),
    "dict": {"b": 1, "a": "x", "arr": np.arange(3), "z": np.float32(2.0), "c": 1j},
    "dict_empty": {},
}
PANDAS = {
    "frame": _frame(),
    "frame_numeric": pd.DataFrame(np.random.default_rng(0).normal(size=(4, 3))),
    "frame_multiindex": pd.DataFrame(
        {("a", 1): [1.0, 2.0], ("b", 2): [3.0, 4.0]},
        index=pd.MultiIndex.from_tuples([("u", 1), ("v", 2)], names=["l0", "l1"]),
    ),
    "frame_empty": pd.DataFrame({"x": pd.Series([], dtype=float)}),
    "frame_object_str": pd.DataFrame({"o": pd.Series(["p", "q"], dtype=object)}),
    "series": pd.Series([1.5, 2.5], index=[10, 20], name="speed"),
    "series_str": pd.Series(["a", None, "c"], name=None),
    "series_int_name": pd.Series([1, 2], name=3),
}
SPARSE = {
    "csr_matrix": sparse.random(5, 4, density=0.4, format="csr", random_state=1),
    "csc_array": sparse.csc_array(np.array([[0, 1.5], [2.0, 0]])),
    "coo_matrix": sparse.coo_matrix(np.array([[0, 1], [2, 0]], dtype=np.int64)),
    "coo_array_3d": sparse.coo_array(
        (np.array([1.0, 2.0]), (np.array([0, 1]), np.array([1, 0]), np.array([2, 0]))),
        shape=(2, 2, 3),
    ),
    "bsr_array": sparse.bsr_array(np.kron(np.eye(2), np.ones((2, 2)))),
    "dia_matrix": sparse.dia_matrix(np.diag([1.0, 2.0, 3.0])),
    "complex_csr": sparse.csr_array(np.array([[0, 1j], [2, 0]])),
}

ALL = {
    **{f"scalar-{k}": ("scalar", v) for k, v in SCALARS.items()},
    **{f"string-{k}": ("string", v) for k, v in STRINGS.items()},
    **{f"array-{k}": ("array", v) for k, v in ARRAYS.items()},
    **{f"{k}": (k.split("_")[0], v) for k, v in CONTAINERS.items()},
    **{
        f"pandas-{k}": ("dataframe" if k.startswith("frame") else "series", v)
        for k, v in PANDAS.items()
    },
    **{f"sparse-{k}": ("sparse", v) for k, v in SPARSE.items()},
}


def assert_same(back, value):
    """Equal value and exactly the same type (and dtype, format...)."""
    assert type(back) is type(value)
    if isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(back, value, check_exact=True)
    elif isinstance(value, pd.Series):
        pd.testing.assert_series_equal(back, value, check_exact=True)
    elif sparse.issparse(value):
        assert back.format == value.format and back.shape == value.shape
        assert back.dtype == value.dtype
        assert np.array_equal(back.toarray(), value.toarray())
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        assert np.array_equal(back, value, equal_nan=back.dtype.kind in "fc")
    elif isinstance(value, (list, tuple)):
        assert len(back) == len(value)
        for b, v in zip(back, value):
            assert_same(b, v)
    elif isinstance(value, dict):
        assert list(back) == list(value)
        for key in value:
            assert_same(back[key], value[key])
    elif isinstance(value, np.generic):
        assert back.dtype == value.dtype and back == value
    elif isinstance(value, float) and np.isnan(value):
        assert np.isnan(back)
    else:
        assert back == value


# ----------------------------------------------------------------- detection


@pytest.mark.parametrize("key", list(ALL))
def test_kind_of(key):
    kind, value = ALL[key]
    assert kind in KINDS
    assert kind_of(value) == kind


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (object(), "values of type builtins.object cannot be stored as arrays; .*kind='pickle'"),
        (None, "type builtins.NoneType"),
        (datetime.date(2020, 1, 1), "datetime.date"),
        (fractions.Fraction(1, 3), "fractions.Fraction"),
        (np.datetime64("2020-01-01"), "numpy.datetime64"),
        (np.array([1, "a"], dtype=object), "numpy arrays of dtype object.*kind='pickle'"),
        ([1, [2]], "list items must be numbers or strings, item 1 is list"),
        ({1: 2}, "dict keys must be str, got int 1"),
        ({"a": {"b": 1}}, "key 'a' holds dict"),  # lists and tuples are values now (#18)
        (
            sparse.lil_matrix((2, 2)),
            r"sparse format 'lil' is not stored natively; convert it with .tocsr\(\)",
        ),
    ],
)
def test_kind_of_refuses(value, message):
    with pytest.raises(TypeError, match=message):
        kind_of(value)


# ----------------------------------------------------------------- compatibility


@pytest.mark.parametrize(
    ("default", "value"),
    [
        (1, 2),
        (1, np.int32(2)),
        (1, 2**70),
        (2**70, np.uint8(1)),
        (1.0, 2),
        (1.0, np.float32(2)),
        (1j, 2.0),
        (True, np.bool_(False)),
        ("a", "b"),
        (np.zeros(3), np.ones((2, 2))),
        (np.arange(3), np.arange(3, dtype=np.uint8)),
        ([1, 2], ["a"]),
        ({"a": 1}, {"b": "x"}),
        (pd.Series([1.0]), pd.Series(["a"])),
        (sparse.csr_matrix((2, 2)), sparse.coo_array((3, 3))),
        (datetime.date(2020, 1, 1), datetime.date(2021, 1, 1)),
    ],
)
def test_check_compatible_accepts(default, value):
    check_compatible("parameters.p", default, value)


@pytest.mark.parametrize(
    ("default", "value", "message"),
    [
        (
            1,
            1.5,
            "parameters.p: value 1.5 is a float but the default 1 is an integer; give the parameter a float default",
        ),
        (1, True, "value True is a bool but the default 1 is an integer"),
        (True, 1, "value 1 is an integer but the default True is a bool"),
        (1.0, 1j, "is a complex number but the default 1.0 is a float"),
        (
            1,
            "1",
            r"parameters.p: value '1' \(str\) is of kind 'string' but the default 1 \(int\) is of kind 'scalar'",
        ),
        ([1], (1,), "is of kind 'tuple'"),
        ("a", b"a", "mix str and bytes"),
        (
            np.zeros(2),
            np.arange(2),
            "array of dtype int64 does not match the default's dtype float64",
        ),
        (1, object(), "parameters.p: value <object object.*cannot be explored"),
        (datetime.date(2020, 1, 1), "2020", "does not match the default's type date"),
    ],
)
def test_check_compatible_refuses(default, value, message):
    with pytest.raises(TypeError, match=message):
        check_compatible("parameters.p", default, value)


# ----------------------------------------------------------------- encode / decode


@pytest.mark.parametrize("key", list(ALL))
def test_encode_decode_round_trip(key):
    kind, value = ALL[key]
    data, attrs = encode(value)
    assert attrs["pypetx_kind"] == kind
    assert all(isinstance(v, str) for v in attrs.values())
    arrays = data.values() if isinstance(data, dict) else [data]
    for a in arrays:
        assert isinstance(a, np.ndarray) and a.dtype.kind in "iufU"
    assert_same(decode(data, attrs), value)


def _write_read(tmp_path, data, attrs):
    """Write encoded arrays with xarray/h5netcdf, reopen them, return (data, attrs) read."""
    parts = data if isinstance(data, dict) else {"value": data}
    variables = {
        name: xr.Variable([f"{name}_dim_{i}" for i in range(a.ndim)], a)
        for name, a in parts.items()
    }
    path = tmp_path / "value.h5"
    xr.Dataset(variables, attrs=attrs).to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        read = {name: ds[name].values for name in parts}
        read_attrs = dict(ds.attrs)
    return (read if isinstance(data, dict) else read["value"]), read_attrs


@pytest.mark.parametrize("key", list(ALL))
def test_round_trip_through_hdf5(tmp_path, key):
    _, value = ALL[key]
    data, attrs = encode(value)
    read, read_attrs = _write_read(tmp_path, data, attrs)
    assert_same(decode(read, read_attrs), value)


def test_complex_is_stored_as_real_imag_pairs():
    data, attrs = encode(np.array([1 + 2j, 3 - 4j]))
    assert data.dtype == np.float64 and data.tolist() == [[1.0, 2.0], [3.0, -4.0]]
    assert attrs["pypetx_dtype"] == "<c16"


def test_encode_kind_mismatch_and_unknown_kind():
    with pytest.raises(
        TypeError, match="value of type list has kind 'list', not 'array'; pass kind='list'"
    ):
        encode([1, 2], kind="array")
    with pytest.raises(ValueError, match="unknown kind 'matrix'; use one of scalar, string"):
        encode(1, kind="matrix")
    with pytest.raises(TypeError, match="kind='pickle'"):
        encode(object())


def test_decode_refuses_foreign_attrs():
    with pytest.raises(ValueError, match="no valid pypetx_kind"):
        decode(np.zeros(2), {"units": "m"})


def test_unsupported_pandas_dtype_names_the_column():
    frame = pd.DataFrame({"cat": pd.Categorical(["a", "b"])})
    with pytest.raises(TypeError, match="column 'cat' has dtype category.*kind='pickle'"):
        encode(frame)


# ----------------------------------------------------------------- pickle


class Custom:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return type(other) is Custom and other.x == self.x


def test_pickle_needs_opt_in(tmp_path):
    value = Custom([1, {"a": 2}])
    data, attrs = encode(value, kind="pickle")
    assert data.dtype == np.uint8 and attrs == {"pypetx_kind": "pickle"}
    with pytest.raises(PickleNotAllowedError, match="allow_pickle=True"):
        decode(data, attrs)
    assert decode(data, attrs, allow_pickle=True) == value
    read, read_attrs = _write_read(tmp_path, data, attrs)
    with pytest.raises(PickleNotAllowedError):
        decode(read, read_attrs)
    assert decode(read, read_attrs, allow_pickle=True) == value


def test_pickle_kind_also_takes_storable_values():
    data, attrs = encode([1, 2], kind="pickle")
    assert decode(data, attrs, allow_pickle=True) == [1, 2]
