"""Bad arguments raise TypeError / ValueError that name the argument (scipy's wording)."""

import pytest
import torch

from zoo.filters import allpole, lfilter, linear_recurrence, sosfilt


def _x(*shape):
    return torch.randn(*shape, dtype=torch.float64)


@pytest.mark.parametrize(
    "name, call",
    [
        ("x", lambda: allpole(torch.arange(8), _x(2))),
        ("a", lambda: allpole(_x(8), torch.tensor([1, 2]))),
        ("zi", lambda: allpole(_x(8), _x(2), torch.zeros(2, dtype=torch.int32))),
        ("x", lambda: allpole([0.0, 1.0], _x(2))),
        ("b", lambda: lfilter(torch.ones(3, dtype=torch.int64), _x(2), _x(8))),
        ("sos", lambda: sosfilt(torch.ones(1, 6, dtype=torch.int64), _x(8))),
        ("a", lambda: linear_recurrence(torch.ones(8, dtype=torch.bool), _x(8))),
    ],
)
def test_non_floating_dtypes_raise_type_error(name, call):
    with pytest.raises(TypeError, match=f"`{name}`"):
        call()


@pytest.mark.parametrize(
    "name, call",
    [
        ("a", lambda: allpole(_x(8), torch.zeros(2, device="meta"))),
        ("zi", lambda: allpole(_x(8), _x(2), torch.zeros(2, device="meta"))),
        ("a", lambda: lfilter(_x(3), torch.zeros(2, device="meta"), _x(8))),
        ("zi", lambda: lfilter(_x(3), _x(2), _x(8), torch.zeros(4, device="meta"))),
    ],
)
def test_mismatched_devices_raise_value_error(name, call):
    with pytest.raises(ValueError, match=f"Unexpected device for `{name}`"):
        call()


@pytest.mark.parametrize(
    "name, call",
    [
        ("a", lambda: allpole(_x(8), _x(0))),
        ("a", lambda: allpole(_x(8), _x(8, 0))),
        ("a", lambda: lfilter(_x(3), _x(0), _x(8))),
        ("b", lambda: lfilter(_x(0), _x(2), _x(8))),
    ],
)
def test_empty_order_raises(name, call):
    with pytest.raises(ValueError, match=f"`{name}`.*at least one coefficient"):
        call()


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: allpole(_x(8), _x(2), _x(3)), r"expected \(\.\.\., 2\)"),
        (lambda: allpole(_x(8), _x(2), _x(())), r"expected \(\.\.\., 2\)"),
        (lambda: lfilter(_x(3), _x(2), _x(8), _x(2)), r"expected \(\.\.\., 4\)"),
        (lambda: sosfilt(_x(2, 6), _x(8), _x(2, 2)), r"expected \(\.\.\., 2, 4\)"),
    ],
)
def test_wrong_state_order_raises(call, expected):
    with pytest.raises(ValueError, match=r"Unexpected shape for `zi`.*" + expected):
        call()


@pytest.mark.parametrize(
    "name, call",
    [
        ("a", lambda: allpole(_x(2, 8), _x(2, 7, 2))),  # time-varying a, one sample short
        ("b", lambda: lfilter(_x(1, 7, 3), _x(1, 8, 2), _x(2, 8))),  # b/a time lengths differ
        ("a", lambda: lfilter(_x(1, 8, 3), _x(1, 9, 2), _x(2, 8))),
        ("sos", lambda: sosfilt(_x(1, 9, 2, 6), _x(2, 8))),
        ("sos", lambda: sosfilt(_x(2, 5), _x(8))),  # rows must have 6 entries
        ("a", lambda: linear_recurrence(_x(7), _x(8))),
        ("a", lambda: allpole(_x(8), _x(3, 4, 2))),  # too many dims for x (8,)
        ("x", lambda: allpole(_x(()), _x(2))),
    ],
)
def test_time_length_mismatch_raises(name, call):
    with pytest.raises(ValueError, match=f"Unexpected shape for `{name}`"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: allpole(_x(3, 8), _x(2, 2)),
        lambda: allpole(_x(3, 8), _x(3, 8, 2), _x(4, 2)),
        lambda: allpole(_x(2, 3, 8), _x(3, 1, 8, 2)),
        lambda: lfilter(_x(4, 3), _x(2), _x(3, 8)),  # b's leading dim does not fit x
        lambda: lfilter(_x(3), _x(4, 2), _x(3, 8)),
        lambda: sosfilt(_x(4, 2, 6), _x(3, 8)),
        lambda: linear_recurrence(_x(2, 8), _x(2, 8), _x(3)),
    ],
)
def test_non_broadcastable_leading_dims_raise(call):
    with pytest.raises(ValueError, match="do not broadcast"):
        call()


@pytest.mark.parametrize("time_varying", [True, False])
def test_validate_rejects_unstable_filters(time_varying):
    x = _x(2, 16)
    a = torch.tensor([-2.5, 1.5], dtype=torch.float64)  # poles 1.5 and 1.0
    a = a.expand(2, 16, 2) if time_varying else a
    with pytest.raises(ValueError, match="Unstable filter in `a`"):
        allpole(x, a, validate=True)
    # the default does not sync: the same call runs (and grows) without a check
    allpole(x, a)


def test_validate_rejects_a_single_unstable_step():
    a = torch.full((1, 32, 1), -0.5, dtype=torch.float64)
    a[0, 17, 0] = 1.01
    with pytest.raises(ValueError, match="Unstable"):
        allpole(_x(1, 32), a, validate=True)
    allpole(_x(1, 32), a.clamp(max=0.99), validate=True)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("name", ["x", "a", "zi"])
def test_validate_rejects_non_finite_values(bad, name):
    args = {"x": _x(2, 16), "a": torch.tensor([-0.5, 0.1], dtype=torch.float64), "zi": _x(2, 2)}
    args[name] = args[name].clone()
    args[name].view(-1)[1] = bad
    with pytest.raises(ValueError, match=f"`{name}`.*NaN or Inf"):
        allpole(args["x"], args["a"], args["zi"], validate=True)


def test_validate_is_forwarded_by_lfilter_and_sosfilt():
    with pytest.raises(ValueError, match="Unstable"):
        lfilter(_x(3), torch.tensor([0.0, 1.2], dtype=torch.float64), _x(16), validate=True)
    sos = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0, 1.2]], dtype=torch.float64)
    with pytest.raises(ValueError, match="Unstable"):
        sosfilt(sos, _x(16), validate=True)
