"""Counter-based randomness and fixed-width string columns, vectorized with numpy.

Event attributes are pure functions of ``(seed, minute, country, sequence)`` through the
SplitMix64 finaliser, so any slicing of the time range (chunks, shards) reproduces the same
events without carrying generator state. String columns are assembled as fixed-width byte
matrices and handed to Arrow as buffers (no per-row Python objects).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
#: byte value -> its two lowercase hex digits
_HEX_PAIRS = np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 15]], axis=1).astype(np.uint8)
_HEX_PAIRS16 = np.ascontiguousarray(_HEX_PAIRS).view(np.uint16).ravel()


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser of ``x + golden`` (a bijection on uint64, so distinct keys stay distinct)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def stream(keys: np.ndarray, stream_id: int) -> np.ndarray:
    """An independent 64-bit hash per key for the named stream (one stream per attribute)."""
    return mix64(keys ^ mix64(np.array([stream_id], dtype=np.uint64)))


def seed_key(*parts: int) -> np.uint64:
    """A 64-bit key from small integers (seed, ids): chained SplitMix64."""
    acc = np.array([0], dtype=np.uint64)
    for part in parts:
        acc = mix64(acc ^ np.array([part & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
    return np.uint64(acc[0])


def unit_float(h: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) doubles from the top 53 bits of each hash."""
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def bits(h: np.ndarray, shift: int, width: int) -> np.ndarray:
    """``width`` bits of each hash starting at ``shift``, as int64."""
    return ((h >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)


def hex_matrix(values: np.ndarray, n_digits: int) -> np.ndarray:
    """Lowercase hex of each uint64, the last ``n_digits`` digits (even, ≤16), as an (n, n_digits) uint8 matrix."""
    if n_digits % 2 or not 2 <= n_digits <= 16:
        raise ValueError("n_digits must be even and within 2..16")
    raw = np.asarray(values, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    n_bytes = n_digits // 2
    pairs = np.take(_HEX_PAIRS16, raw[:, 8 - n_bytes :])
    return pairs.view(np.uint8).reshape(-1, n_digits)


def char_matrix(strings: list[str] | tuple[str, ...]) -> np.ndarray:
    """Equal-length ASCII strings as an (n, width) uint8 matrix (a lookup table for :func:`np.take`)."""
    widths = {len(s) for s in strings}
    if len(widths) != 1:
        raise ValueError(f"strings must share one width, got {sorted(widths)}")
    return np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8).reshape(len(strings), -1)


def fixed_width_strings(*blocks: np.ndarray) -> pa.StringArray:
    """Concatenate (n, w_i) uint8 blocks column-wise into one Arrow string array of width Σw_i."""
    matrix = np.ascontiguousarray(np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0])
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(matrix))
