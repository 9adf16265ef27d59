"""Matrices the server sends back: a view of their bytes, or DATA_LOSS when shape and bytes disagree."""
import grpc
import numpy as np
import pytest

from activerm import ActiveRmError
from activerm import _parse
from activerm.v1 import activerm_pb2 as pb


def test_matrix_and_float64_matrix_are_views_of_their_little_endian_bytes():
    x = np.arange(6, dtype="<f4").reshape(2, 3)
    np.testing.assert_array_equal(_parse.matrix(pb.Matrix(rows=2, cols=3, data=x.tobytes()), "m", "Score"), x)
    y = np.arange(6, dtype="<f8").reshape(3, 2) / 7
    np.testing.assert_array_equal(
        _parse.float64_matrix(pb.Float64Matrix(rows=3, cols=2, data=y.tobytes()), "f", "ExportSelectionState"), y)


@pytest.mark.parametrize("parse, message, kind, itemsize", [
    (_parse.matrix, pb.Matrix, "Matrix", 4),
    (_parse.float64_matrix, pb.Float64Matrix, "Float64Matrix", 8),
])
def test_shape_and_bytes_that_disagree_are_data_loss_naming_the_field(parse, message, kind, itemsize):
    with pytest.raises(ActiveRmError) as e:
        parse(message(rows=2, cols=3, data=b"\0" * (5 * itemsize)), "information", "ExportSelectionState")
    assert e.value.code == grpc.StatusCode.DATA_LOSS
    assert f"information of shape 2 x 3 with {5 * itemsize} bytes (expected {6 * itemsize})" in str(e.value)
    assert f"disagree on the {kind} format" in str(e.value)
