"""The IDX reader on crafted good and bad files."""

import gzip
import io
import struct

import numpy as np
import pytest

from mnist_lab.data import ChecksumError, IdxFormatError, read_idx, write_idx
from mnist_lab.data.idx import IDX_DTYPES


def idx_bytes(type_byte: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, type_byte, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


@pytest.mark.parametrize("type_byte", sorted(IDX_DTYPES))
@pytest.mark.parametrize("compress", [False, True])
def test_every_element_type_round_trips(tmp_path, type_byte, compress):
    dtype = IDX_DTYPES[type_byte].newbyteorder("=")
    values = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / "x.idx"
    write_idx(path, values, compress=compress)
    array = read_idx(path)
    assert array.dtype == dtype and array.dtype.isnative
    np.testing.assert_array_equal(array, values)
    assert not array.flags.writeable


def test_big_endian_on_disk_is_decoded():
    payload = struct.pack(">3h", -2, 258, 32767)
    np.testing.assert_array_equal(read_idx(io.BytesIO(idx_bytes(0x0B, (3,), payload))), [-2, 258, 32767])


def test_reads_from_a_binary_file_object_and_gzip_stream():
    raw = idx_bytes(0x08, (2, 2), bytes([1, 2, 3, 4]))
    np.testing.assert_array_equal(read_idx(io.BytesIO(gzip.compress(raw))), [[1, 2], [3, 4]])


def fails_with(data: bytes, *fragments: str, name: str = "bad.idx", tmp_path=None):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IdxFormatError) as caught:
        read_idx(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_empty_file(tmp_path):
    fails_with(b"", "empty", tmp_path=tmp_path)


def test_wrong_magic(tmp_path):
    fails_with(b"\x01\x02\x08\x01" + b"\x00" * 8, "wrong magic", tmp_path=tmp_path)


def test_unknown_type(tmp_path):
    fails_with(idx_bytes(0x07, (1,), b"\x00"), "unknown element type 0x07", tmp_path=tmp_path)


def test_zero_dimensions(tmp_path):
    fails_with(b"\x00\x00\x08\x00\x01", "zero dimensions", tmp_path=tmp_path)


def test_truncated_header(tmp_path):
    fails_with(b"\x00\x00\x08\x03\x00\x00", "truncated header", tmp_path=tmp_path)


def test_truncated_payload(tmp_path):
    fails_with(idx_bytes(0x08, (2, 3), b"\x01\x02"), "truncated", "6 data bytes, only 2", tmp_path=tmp_path)


def test_trailing_bytes(tmp_path):
    fails_with(idx_bytes(0x08, (2,), b"\x01\x02\x03"), "trailing bytes", tmp_path=tmp_path)


def test_corrupt_gzip_checksum(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (100,), bytes(range(100))))
    fails_with(good[:-8] + bytes(8), "corrupt gzip", tmp_path=tmp_path)


def test_gzip_magic_followed_by_garbage(tmp_path):
    fails_with(b"\x1f\x8b" + b"\x07" * 40, "corrupt gzip", tmp_path=tmp_path)


def test_truncated_gzip(tmp_path):
    good = gzip.compress(idx_bytes(0x08, (1000,), bytes(1000)))
    fails_with(good[: len(good) // 2], "corrupt gzip", tmp_path=tmp_path)


def test_header_claiming_terabytes_fails_before_allocating(tmp_path):
    # 65536^3 float64 = 2 PB declared, 16 bytes present: must fail fast without allocating.
    message = fails_with(idx_bytes(0x0E, (65536, 65536, 65536), b"\x00" * 16), "truncated", tmp_path=tmp_path)
    assert "only 16" in message


def test_file_object_name_in_message():
    stream = io.BytesIO(b"")
    with pytest.raises(IdxFormatError, match="<stream>: the file is empty"):
        read_idx(stream)


def test_checksum_mismatch_is_refused(tmp_path):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros(3, np.uint8))
    with pytest.raises(ChecksumError, match="SHA-256"):
        read_idx(path, sha256="0" * 64)


def test_errors_are_value_errors():
    assert issubclass(IdxFormatError, ValueError) and issubclass(ChecksumError, ValueError)
